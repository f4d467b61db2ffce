"""Seeded, labelled short sentences for PHI development: chat messages, forms, letters, clinical
notes and signatures, with identifiers in the places real people put them. Development data only.

    .venv/bin/python bench/phi_sentences.py --n 12 --half check     # print a few

Our own templates (`TEMPLATES`, 40 of them, written here; nothing from presidio-research) are
filled from Faker in the locales of `LOCALES` plus formats Faker does not write (dotted, spaced
and short national phones, unit suffixes, abbreviated street words, US military addresses,
intersections, names with an initial). Two halves with different Faker seeds: `tune` (the misses
we read while changing rules) and `check` (only its figures are read), and the check half also
draws from `CHECK_ONLY_LOCALES`, which the tuning half never sees, so over-fitting to values or
to a locale shows as a gap between the halves. Each sentence is a `phi_notes.Note`: PHI spans,
and KEEP spans for clinical values that must survive.
"""

from __future__ import annotations

import argparse
import random
import re

from faker import Faker
from phi_notes import Note

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "hu_HU", "fi_FI",
           "sv_SE", "da_DK", "no_NO")  # fmt: skip
CHECK_ONLY_LOCALES = ("pl_PL", "cs_CZ", "pt_PT")
_SLOT = re.compile(r"\{(?P<kind>[A-Z_]+):(?P<gen>\w+)\}")

# "{KIND:generator}": KIND is the label (PERSON, PHONE, ZIP, ADDRESS, ... or KEEP), generator a
# function of `_GENERATORS`. Grouped by where the identifier sits.
TEMPLATES: tuple[str, ...] = (
    # identifiers right after their cue
    "my zip code is {ZIP:zip}, is there a clinic near me?",
    "ZIP: {ZIP:zip}",
    "Postcode {ZIP:zip} - do you deliver test strips there?",
    "postal code {ZIP:zip}, glucose {KEEP:glucose} this morning",
    "you can call me on {PHONE:phone_dotted} after work",
    "Phone: {PHONE:phone_short}",
    "Mobile: {PHONE:phone_dotted}",
    "I'm answering at {PHONE:phone_short} until Friday",
    "Tel. {PHONE:phone} / fax {PHONE:phone}",
    "reach me at {PHONE:phone} or {EMAIL:email}",
    "Cell {PHONE:phone}, office {PHONE:phone_short}",
    # structured identifiers in prose
    "Card {CREDIT_CARD:card} was charged twice, please refund to {IBAN:iban}.",
    "SSN {SSN:ssn}, member since 2019.",
    "Logged in from {IP:ip} via {URL:domain} yesterday.",
    "Driver's licence {DL:licence}, expires next year.",
    "Email me the report: {EMAIL:email}",
    # street addresses of many countries
    "I live at {ADDRESS:street}, {ZIP:zip} {LOCATION:city}.",
    "Send the sensors to {ADDRESS:street_unit}.",
    "new address: {ADDRESS:street_abbrev}",
    "{ADDRESS:street_lower} is where the pharmacy is",
    "Ship to {ADDRESS:military}",
    "We met at the corner of {ADDRESS:street_name} and {ADDRESS:street_name}.",
    "Moved from {ADDRESS:street} last spring, BP {KEEP:bp} since then.",
    "Return address\n{PERSON:name}\n{ADDRESS:street}\n{ZIP:zip} {LOCATION:city}",
    # names in every position
    "our founders: {PERSON:last}, {PERSON:last} and {PERSON:last}",
    "{PERSON:first}: What a day. My HRV was {KEEP:ms}.",
    "{PERSON:first}: did you log your glucose?\n{PERSON:first}: yes, {KEEP:glucose}.",
    "we went to a {PERSON:first_initial_last} concert on Saturday",
    "Referred by Dr. {PERSON:last}; seen with {PERSON:first} {PERSON:initial_last}.",
    "Thanks, {PERSON:first}! See you Monday.",
    "Kind regards,\n{PERSON:name}\nclinic secretary",
    "I told {PERSON:first} my sleep score was {KEEP:percent}.",
    "Patient {PERSON:name}, {KEEP:age}-year-old, on {KEEP:drug}.",
    "Invited: {PERSON:name}, {PERSON:name}, {PERSON:name}",
    "{PERSON:name} asked whether {PERSON:first} could drive her home.",
    # no PHI: clinical and device text that must come back unchanged
    "Resting heart rate this morning: {KEEP:bpm}.",
    "my cgm avg was {KEEP:glucose} and {KEEP:percent} in range, is that bad?",
    "Office BP {KEEP:bp}, home readings lower.",
    "Desk job, {KEEP:hours} sitting, walked {KEEP:steps} today.",
    "Zone 2: {KEEP:minutes}, deep sleep {KEEP:percent}, GMI {KEEP:percent}",
)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone_dotted(fake: Faker, rng: random.Random) -> str:
    pairs = [f"0{rng.randint(1, 9)}", *(_digits(rng, 2) for _ in range(4))]
    return rng.choice((".", " ", "-")).join(pairs)


def _phone_short(fake: Faker, rng: random.Random) -> str:
    """Eight-digit national numbers (Nordic, Baltic): "47 22 91 08", "61 204 377"."""
    d = str(rng.randint(2, 9)) + _digits(rng, 7)
    return rng.choice((f"{d[:2]} {d[2:4]} {d[4:6]} {d[6:]}", f"{d[:2]}-{d[2:4]}-{d[4:6]}-{d[6:]}",
                       f"{d[:2]} {d[2:5]} {d[5:]}", f"{d[:3]} {d[3:5]} {d[5:]}", d))  # fmt: skip


def _street_unit(fake: Faker, rng: random.Random) -> str:
    unit = rng.choice(("Apt. {}", "Apt {}", "Suite {}", "Flat {}", "Unit {}", "{}. em.", "st. {}"))
    return f"{fake.street_address()} {unit.format(rng.randint(1, 40 if '.' in unit else 999))}"


_ABBREVIATIONS = (("utca", "u."), ("Straße", "Str."), ("straße", "str."), ("Street", "St."),
                  ("Avenue", "Ave."), ("gatan", "g."), ("Boulevard", "Bd"), ("Road", "Rd"),
                  ("tér", "tér"), ("Calle", "C/"), ("Rue", "r."), ("rue", "r."))  # fmt: skip


def _street_abbrev(fake: Faker, rng: random.Random) -> str:
    street = fake.street_address()
    for long, short in _ABBREVIATIONS:
        if long in street:
            return street.replace(long, short, 1)
    return street


def _military(fake: Faker, rng: random.Random) -> str:
    head = rng.choice((f"PSC {_digits(rng, 4)}, Box {_digits(rng, 4)}",
                       f"Unit {_digits(rng, 4)} Box {_digits(rng, 4)}",
                       f"CMR {_digits(rng, 3)}, Box {_digits(rng, 4)}",
                       f"USNS {fake.last_name()}"))  # fmt: skip
    return f"{head}, {rng.choice(('APO', 'FPO', 'DPO'))} {rng.choice(('AA', 'AE', 'AP'))} 09{_digits(rng, 3)}"


def _initial(fake: Faker, rng: random.Random) -> str:
    return rng.choice("ABCDEFGHJKLMNPRSTVW") + rng.choice(("", "."))


_GENERATORS = {
    "name": lambda f, r: f.name(),
    "first": lambda f, r: f.first_name(),
    "last": lambda f, r: f.last_name(),
    "first_initial_last": lambda f, r: f"{f.first_name()} {_initial(f, r)} {f.last_name()}",
    "initial_last": lambda f, r: f"{_initial(f, r)} {f.last_name()}",
    "phone": lambda f, r: f.phone_number(),
    "phone_dotted": _phone_dotted,
    "phone_short": _phone_short,
    "zip": lambda f, r: f.postcode(),
    "email": lambda f, r: f.email(),
    "card": lambda f, r: f.credit_card_number(),
    "iban": lambda f, r: f.iban(),
    "ssn": lambda f, r: f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    "ip": lambda f, r: f.ipv4_public(),
    "domain": lambda f, r: f.domain_name(),
    "licence": lambda f, r: r.choice("ABDGKSW") + _digits(r, r.choice((7, 8))),
    "city": lambda f, r: f.city(),
    "street": lambda f, r: f.street_address().replace("\n", ", "),
    "street_unit": _street_unit,
    "street_abbrev": _street_abbrev,
    "street_lower": lambda f, r: f.street_address().lower(),
    "street_name": lambda f, r: f.street_name(),
    "military": _military,
    "glucose": lambda f, r: f"{r.randint(70, 250)} mg/dl",
    "bp": lambda f, r: f"{r.randint(100, 160)}/{r.randint(60, 95)} mmHg",
    "bpm": lambda f, r: f"{r.randint(45, 110)} bpm",
    "ms": lambda f, r: f"{r.randint(12, 90)} ms",
    "percent": lambda f, r: f"{r.randint(5, 95)}%",
    "age": lambda f, r: str(r.randint(20, 85)),
    "drug": lambda f, r: r.choice(("metformin", "Ozempic", "Lisinopril", "Eliquis")),
    "hours": lambda f, r: f"{r.randint(6, 10)} hours",
    "steps": lambda f, r: f"{r.randint(1, 15)},{r.randint(100, 999)} steps",
    "minutes": lambda f, r: f"{r.randint(10, 90)} min",
}


def fill(template: str, fake: Faker, rng: random.Random, locale: str) -> Note:
    note = Note(locale=locale)
    pos = 0
    for m in _SLOT.finditer(template):
        note.add(template[pos : m.start()])
        value = _GENERATORS[m["gen"]](fake, rng)
        note.add(value, m["kind"])
        pos = m.end()
    return note.add(template[pos:])


def generate(n: int, half: str, seed: int = 11) -> list[Note]:
    """`n` sentences of one half ("tune" or "check"): every template in turn, a random locale."""
    locales = LOCALES + (CHECK_ONLY_LOCALES if half == "check" else ())
    seed = seed * 2 + (half == "check")
    rng = random.Random(seed)
    fakes = {loc: Faker(loc) for loc in locales}
    for i, fake in enumerate(fakes.values()):
        fake.seed_instance(seed * 1000 + i)
    notes = []
    for i in range(n):
        locale = rng.choice(locales)
        template = TEMPLATES[i % len(TEMPLATES)]
        if locale != "en_US" and "military" in template:
            locale = "en_US"  # APO/FPO addresses are US mail
        notes.append(fill(template, fakes[locale], rng, locale))
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--half", choices=("tune", "check"), default="tune")
    args = parser.parse_args()
    for note in generate(args.n, args.half):
        print(f"--- {note.locale}: {note.text!r}")
        print("   ", [(s.kind, note.text[s.start : s.end]) for s in note.spans if s.kind != "KEEP"])


if __name__ == "__main__":
    main()
