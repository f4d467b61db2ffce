"""Seeded, labelled clinical notes for PHI evaluation: development data, never product code.

    .venv/bin/python bench/phi_notes.py --notes 5 --seed 1      # print a few

Faker (dev extra) supplies names, streets, cities, postcodes, phones, e-mail, IBANs, card numbers
and VINs in nine locales (en_US, en_GB, de_DE, fr_FR, es_ES, it_IT, en_CA, en_AU, nl_NL); we
place them in realistic notes next to clinical content that must survive: measurements with units,
reference ranges, measurement days, drug names, eponymous diseases, record-type words. Each
`Note` carries labelled spans: PHI types as in `bench/phi_eval.py`, and KEEP spans for the
clinical content. Five note shapes: a Synthea-style summary ("Patient <First Last> (MRN ...)
is a 94-year-old ... Lives at <address>. DOB ..., Driver's licence S99912345"; a third of the
names numbered the way Synthea writes them, "Maude352 Wunsch128"; half the addresses on lines of
their own, with a unit line in en_US), a referral letter with a multi-line address block, a
header-style discharge form, a patient's message, and a device/billing note.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field

from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "en_CA", "en_AU", "nl_NL")
DRUGS = ("metformin", "Lisinopril", "Ozempic", "atorvastatin", "Levothyroxine", "insulin glargine",
         "Eliquis", "amlodipine", "Januvia", "sertraline")  # fmt: skip
CONDITIONS = ("Hashimoto's thyroiditis", "Parkinson's disease", "Crohn's disease",
              "Cushing syndrome", "Graves' disease", "Addison's disease", "type 2 diabetes",
              "Raynaud's phenomenon", "Hodgkin lymphoma", "Sjögren's syndrome")  # fmt: skip
RECORDS = ("BloodGlucoseRecord", "HeartRateRecord", "SleepSessionRecord", "StepsRecord")


@dataclass(frozen=True, slots=True)
class Span:
    kind: str
    start: int
    end: int


@dataclass(slots=True)
class Note:
    text: str = ""
    spans: list[Span] = field(default_factory=list)
    locale: str = ""

    def add(self, value: str, kind: str | None = None) -> Note:
        if kind:
            self.spans.append(Span(kind, len(self.text), len(self.text) + len(value)))
        self.text += value
        return self


def _day(rng: random.Random) -> str:
    return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _dob(rng: random.Random) -> str:
    y, m, d = rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice((f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d}.{m}.{y}"))


def _dl(rng: random.Random) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    return rng.choice((f"S999{digits(5)}", f"D{digits(7)}", f"{rng.choice('ABCFGK')}{digits(8)}",
                       f"{digits(9)}", f"{rng.choice('WXY')}{digits(3)}-{digits(3)}-{digits(3)}"))  # fmt: skip


def _mrn(rng: random.Random) -> str:
    return rng.choice((f"{rng.randrange(10**8):08d}", f"MRN-{rng.randrange(10**6):06d}",
                       f"{rng.choice('ABCHK')}{rng.randrange(10**7):07d}"))  # fmt: skip


def _address(note: Note, fake: Faker, locale: str, multiline: bool) -> None:
    """Street line (ADDRESS), city (LOCATION) and postcode (ZIP) in the locale's order."""
    sep = "\n" if multiline else ", "
    street = fake.street_address().replace("\n", sep).strip()
    city = fake.city()
    postcode = fake.postcode()
    note.add(street, "ADDRESS").add(sep)
    if multiline and locale == "en_US" and "Apt" not in street and "Suite" not in street:
        note.add(fake.secondary_address(), "ADDRESS").add(sep)  # "Apt. 614" on its own line
    if locale in ("en_US", "en_CA", "en_AU"):
        region = fake.state_abbr() if locale != "en_CA" else fake.province_abbr()
        note.add(city, "LOCATION").add(", " if locale != "en_AU" else " ").add(region + " ")
        note.add(postcode, "ZIP")
    elif locale == "en_GB":
        note.add(city, "LOCATION").add(sep).add(postcode, "ZIP")
    else:
        note.add(postcode, "ZIP").add(" ").add(city, "LOCATION")


def _vitals(note: Note, rng: random.Random) -> None:
    day = _day(rng)
    note.add("Vitals on ").add(day, "KEEP").add(": BP ")
    note.add(f"{rng.randint(100, 160)}/{rng.randint(60, 95)} mmHg", "KEEP").add(", HR ")
    note.add(f"{rng.randint(50, 110)} bpm", "KEEP").add(", fasting glucose ")
    note.add(f"{rng.randint(70, 250)} mg/dL", "KEEP").add(" (reference ")
    note.add("70-99 mg/dL", "KEEP").add("), HbA1c ")
    note.add(f"{rng.randint(50, 110) / 10:.1f}%", "KEEP").add(". ")


def _clinical(note: Note, rng: random.Random) -> None:
    note.add("History of ").add(rng.choice(CONDITIONS), "KEEP").add("; on ")
    note.add(rng.choice(DRUGS), "KEEP").add(" and ").add(rng.choice(DRUGS), "KEEP").add(". ")
    note.add("Synced ").add(rng.choice(RECORDS), "KEEP").add(" data since ")
    note.add(rng.choice(("May 2025", "March 2025", "June 2024")), "KEEP").add(". ")


def _synthea_name(fake: Faker, rng: random.Random) -> str:
    """A name as Synthea writes it about a third of the time ("Maude352 Wunsch128")."""
    first, last = fake.first_name(), fake.last_name()
    if rng.random() < 0.3:
        return f"{first}{rng.randint(1, 999)} {last}{rng.randint(1, 999)}"
    return f"{first} {last}"


def synthea(note: Note, fake: Faker, rng: random.Random, locale: str) -> None:
    note.add("Patient ").add(_synthea_name(fake, rng), "PERSON")
    note.add(" (MRN ").add(_mrn(rng), "MRN").add(") is a ")
    age = rng.choice((rng.randint(25, 85), rng.randint(90, 104)))
    note.add(str(age), "AGE" if age > 89 else "KEEP").add("-year-old seen on ")
    note.add(_day(rng), "KEEP").add(". Lives at")
    multiline = rng.random() < 0.5  # Synthea exports put the address on lines of its own
    note.add("\n" if multiline else " ")
    _address(note, fake, locale, multiline=multiline)
    note.add("\nDOB " if multiline else ". DOB ").add(_dob(rng), "DOB")
    note.add(". Driver's licence ").add(_dl(rng), "DL")
    note.add(". Phone ").add(fake.phone_number(), "PHONE").add(". ")
    _vitals(note, rng)
    _clinical(note, rng)


def referral(note: Note, fake: Faker, rng: random.Random, locale: str) -> None:
    first, last = fake.first_name(), fake.last_name()
    note.add("Dear Dr. ").add(fake.last_name(), "PERSON").add(",\n\nI saw ")
    note.add(f"{first} {last}", "PERSON").add(" on ").add(_day(rng), "KEEP")
    note.add(" for follow-up. ")
    _clinical(note, rng)
    note.add(first, "PERSON").add(" now lives at\n")
    _address(note, fake, locale, multiline=True)
    note.add("\nand can be reached on ").add(fake.phone_number(), "PHONE").add(" or ")
    note.add(fake.email(), "EMAIL").add(". Insurance member ID ")
    note.add(f"{rng.choice('ABCHKMW')}{rng.randrange(10**9):09d}", "HEALTH_PLAN").add(".\n")
    _vitals(note, rng)
    note.add("\nKind regards,\n").add(fake.name(), "PERSON").add("\n")


def form(note: Note, fake: Faker, rng: random.Random, locale: str) -> None:
    note.add("Name: ").add(fake.name(), "PERSON").add("\nDOB: ").add(_dob(rng), "DOB")
    note.add("\nMRN: ").add(_mrn(rng), "MRN").add("\nAddress: ")
    _address(note, fake, locale, multiline=False)
    if locale == "en_US":
        note.add("\nSSN: ").add(fake.ssn(), "SSN")
    note.add("\nAdmitted: ").add(
        f"{_day(rng)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", "TIMESTAMP"
    )
    note.add("\nAssessment: ")
    _vitals(note, rng)
    _clinical(note, rng)


def message(note: Note, fake: Faker, rng: random.Random, locale: str) -> None:
    first = fake.first_name()
    note.add("Hi, this is ").add(f"{first} {fake.last_name()}", "PERSON").add(". My card ")
    note.add(fake.credit_card_number(), "CREDIT_CARD").add(" was charged twice for the visit on ")
    note.add(_day(rng), "KEEP").add(". Please refund to IBAN ").add(fake.iban(), "IBAN")
    note.add(". My new address is ")
    _address(note, fake, locale, multiline=False)
    note.add(". My glucose was ").add(f"{rng.randint(70, 250)} mg/dL", "KEEP").add(
        " this morning. Thanks, "
    )
    note.add(first, "PERSON").add("\n")


def device(note: Note, fake: Faker, rng: random.Random, locale: str) -> None:
    note.add("CGM serial number ").add(f"SN{rng.randrange(10**8):08d}", "DEVICE")
    note.add(" paired from IP ").add(fake.ipv4_public(), "IP").add("; portal ")
    note.add(fake.url(), "URL").add(". Account number ")
    note.add(f"{rng.randrange(10**10):010d}", "ACCOUNT").add(". Parking permit for VIN ")
    note.add(fake.vin(), "VIN").add(". Contact ").add(fake.name(), "PERSON").add(" at ")
    note.add(fake.phone_number(), "PHONE").add(". ")
    _vitals(note, rng)


SHAPES = (synthea, referral, form, message, device)


def generate(n: int, seed: int) -> list[Note]:
    rng = random.Random(seed)
    fakes = {loc: Faker(loc) for loc in LOCALES}
    for i, fake in enumerate(fakes.values()):
        fake.seed_instance(seed * 1000 + i)
    notes = []
    for i in range(n):
        locale = LOCALES[i % len(LOCALES)]
        note = Note(locale=locale)
        SHAPES[(i // len(LOCALES)) % len(SHAPES)](note, fakes[locale], rng, locale)
        notes.append(note)
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for note in generate(args.notes, args.seed):
        print(f"--- {note.locale}\n{note.text}")
        print([(s.kind, note.text[s.start : s.end]) for s in note.spans if s.kind != "KEEP"])


if __name__ == "__main__":
    main()
