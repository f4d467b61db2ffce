"""Synthetic user notes and corrupted journal lines: the hard cases the pipeline must survive.

`phi_note` writes a note holding realistic PHI (names, phones, e-mails, SSNs, MRNs, addresses,
dates, ages over 89, URLs, IP addresses) and returns the strings a scrubber must remove; `NOTES`
are plain notes per record type. Every value is synthetic. `corrupt_line` damages a JSONL line in
one of the ways real journals go wrong.
"""

from __future__ import annotations

import calendar
from datetime import date
from random import Random

import orjson

from health_training.data.domains import RECORD_TYPES

GLUCOSE, HR, HRV, SLEEP, STEPS, KCAL = RECORD_TYPES

NOTES: dict[str, tuple[str, ...]] = {
    GLUCOSE: (
        "felt dizzy after lunch",
        "pizza night with the kids",
        "forgot my evening insulin",
        "skipped breakfast",
        "sensor felt loose after swimming",
        "low appetite, had a cold",
    ),
    HR: (
        "new running shoes",
        "felt palpitations in the afternoon",
        "long bike ride with friends",
        "stressful deadline at work",
        "two coffees before noon",
    ),
    HRV: ("slept badly, work stress", "had two glasses of wine", "rest day", "feeling run down"),
    SLEEP: (
        "woke up at 3am and could not fall back asleep",
        "late dinner",
        "new mattress",
        "the baby woke us twice",
    ),
    STEPS: ("new running shoes", "walked to work", "rainy day, stayed inside", "hiking trip"),
    KCAL: ("spin class", "moved house all day", "lazy sunday", "played tennis"),
}
# Small lists the PHI is built from; every value is synthetic.
_FIRST = (
    "Margaret",
    "James",
    "Aisha",
    "Carlos",
    "Mei",
    "Oluwaseun",
    "Ingrid",
    "Rahul",
    "Sofia",
    "Tomasz",
    "Hannah",
    "Diego",
)
_LAST = (
    "Okafor",
    "Lindqvist",
    "Hernandez",
    "Nakamura",
    "O'Brien",
    "Kowalski",
    "Patel",
    "Nguyen",
    "Schmidt",
    "Abernathy",
    "Delacroix",
    "Haddad",
)
_TITLES = ("Dr.", "Mr.", "Mrs.", "Ms.", "Prof.")
_STREETS = ("Elm Street", "Maple Avenue", "Oak Lane", "Cedar Court", "Harbor Road", "Lincoln Way")
_CITIES = (
    ("Springfield", "IL", "627", "217"),
    ("Portland", "OR", "972", "503"),
    ("Austin", "TX", "787", "512"),
    ("Burlington", "VT", "054", "802"),
    ("Madison", "WI", "537", "608"),
    ("Tucson", "AZ", "857", "520"),
)
_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")
_PORTALS = ("mychart.northside-health.org", "portal.valleyclinic.com", "patients.stmarys-med.org")
_PHI_TEMPLATES = (
    "Dr. {name} ({phone}) asked me to log this after the dizzy spell on {ts}.",
    "Sent this to {email} for {title} {name}; MRN {mrn}, DOB {dob}.",
    "For {name}, SSN {ssn}, {street}, {city}: please update the chart.",
    "My father {name} is {age} and shares this watch; his portal is {url}",
    "Uploaded from {ip} at {ts}; call {phone} or write to {email} with questions.",
    "Visit with {title} {name} at {street}, {city} on {ts}; notes at {url}",
    "{name}, DOB {dob}, MRN {mrn}: readings reviewed by phone ({phone}).",
)


def phi_note(rng: Random, day: date) -> tuple[str, tuple[str, ...]]:
    """A note holding realistic PHI, and the PHI strings it holds (what a scrubber must remove)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, zip3, area = rng.choice(_CITIES)
    zipcode = f"{zip3}{rng.randrange(100):02d}"
    hour, minute = rng.randrange(24), rng.randrange(60)
    age = rng.randint(90, 101)
    v = {
        "name": f"{first} {last}",
        "title": rng.choice(_TITLES),
        "phone": f"({area}) {rng.randint(201, 989)}-{rng.randrange(10_000):04d}",
        "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}{rng.randrange(100)}@"
        f"{rng.choice(_MAIL)}",
        "ssn": f"{rng.randint(101, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        "mrn": f"{rng.randrange(10**8):08d}",
        "street": f"{rng.randint(12, 9870)} {rng.choice(_STREETS)}",
        "city": f"{city}, {state} {zipcode}",
        "dob": f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1925, 2006)}",
        "age": rng.choice((f"{age} years old", f"a {age}-year-old")),
        "ts": rng.choice(
            (
                f"{day.isoformat()} {hour:02d}:{minute:02d}",
                f"{calendar.month_abbr[day.month]} {day.day}, {day.year} at "
                f"{(hour - 1) % 12 + 1}:{minute:02d} {'AM' if hour < 12 else 'PM'}",
            )
        ),
        "url": f"https://{rng.choice(_PORTALS)}/patient/{rng.randint(10_000, 99_999)}",
        "ip": rng.choice(
            (
                f"192.168.{rng.randrange(256)}.{rng.randint(2, 254)}",
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(2, 254)}",
                f"73.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(2, 254)}",
            )
        ),
    }
    template = rng.choice(_PHI_TEMPLATES)
    found = [v[k] for k in v if k != "title" and "{" + k + "}" in template]
    if "{city}" in template:
        found.append(zipcode)
    return template.format(**v), tuple(found)


def corrupt_line(line: bytes, record: dict, rng: Random) -> bytes:
    """One of the ways real journals go wrong."""
    kind = rng.randrange(7)
    if kind == 0:  # a write cut short
        return line[: rng.randrange(10, len(line) - 10)]
    if kind == 1:
        return orjson.dumps({k: v for k, v in record.items() if k != "output"})
    if kind == 2:
        return orjson.dumps({**record, "metadata": {**record["metadata"], "quality_score": "high"}})
    if kind == 3:
        return orjson.dumps({**record, "instruction": ""})
    if kind == 4:  # a bad encoder: bytes that are not UTF-8 inside a string
        return line.replace(b'"output":"', b'"output":"\xff\xfe', 1)
    if kind == 5:
        return orjson.dumps([record["instruction"], record["input"], record["output"]])
    return line + rng.choice((b"}", b" ##EOF##", b',"x":'))
