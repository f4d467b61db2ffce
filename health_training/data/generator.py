"""Seeded generator of realistic raw wearable batches and of the ETL journals written from them.

Deterministic for a seed: every user's profile comes from `Random(f"{seed}:{user}")` and every day
from `Random(f"{seed}:{user}:{date}")`, so a month generates the same data whichever other months
are asked for. Profiles mix diabetes (type 1 and 2, good to poor control), athletes, poor sleepers
and sedentary users aged 18-95; traces carry meals, dawn phenomenon, hypos, exercise, sensor gaps
and sensor errors. `generate_corpus` runs the ETL writer over the batches and corrupts a small
share of lines the way real journals are corrupted; it returns the ground truth tests need (counts,
every PHI string injected into user notes).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import repeat
from operator import add, mul
from random import Random

import orjson

from health_training.data.clinical import Reading, SleepStage
from health_training.data.domains import RECORD_TYPES, category_for
from health_training.data.etl import RawBatch, journal_key, write_example

GLUCOSE, HR, HRV, SLEEP, STEPS, KCAL = RECORD_TYPES
PLAIN_NOTE_SHARE = 0.03
_reading = partial(tuple.__new__, Reading)  # skips NamedTuple.__new__: four times cheaper
# Post-meal glucose response per minute after eating: peaks at 45 min, fades over about 4 h.
_MEAL = [x / 45 * math.exp(1 - x / 45) for x in range(300)]
# Dawn phenomenon: counter-regulatory hormones raise glucose from about 03:00 to 08:00.
_DAWN = [
    max(0.0, math.sin(math.pi * (m - 180) / 330)) if 180 <= m < 510 else 0.0 for m in range(1440)
]


def _noise_tables(size: int = 1 << 15) -> tuple[list[float], list[float]]:
    """Unit-variance white and AR(1) noise, computed once; a trace reads a random slice."""
    rng = Random(0)  # constants: the caller's seed picks where to read, not what is there
    white = [rng.gauss(0, 1) for _ in range(size)]
    red, x = [], 0.0
    for e in white:
        x = 0.85 * x + 0.527 * e  # 0.527 = sqrt(1 - 0.85**2) keeps the variance at 1
        red.append(x)
    return white, red


_WHITE, _RED = _noise_tables()
_WHITE2, _WHITE5 = [round(2 * x) for x in _WHITE], [round(5 * x) for x in _WHITE]
_WEEKDAY = [0, 0, 0, 0, 0, 0, 1, 4, 6, 3, 3, 3, 6, 4, 3, 3, 4, 7, 6, 4, 3, 2, 1, 0]
_WEEKEND = [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5, 6, 5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1, 0]


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


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    age: int
    diabetes: str  # "", "t1" or "t2"
    control: float  # 0 good .. 1 poor; diabetes only
    athlete: bool
    sedentary: bool
    poor_sleeper: bool
    cgm_interval: int  # minutes between CGM values; 0: no CGM
    devices: frozenset[str]
    resting_hr: float
    hrv: float
    steps: float  # typical daily steps
    bedtime: int  # minutes after midnight of the night's date


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    files: dict[str, bytes]  # journal_key -> JSONL bytes
    examples: int  # valid lines
    malformed: int  # corrupted lines
    phi_values: tuple[str, ...]  # every PHI string injected into a note, sorted


def make_profile(seed: int, index: int) -> Profile:
    """A user's lasting traits, the same for a seed whichever months are generated."""
    rng = Random(f"{seed}:{index}")
    age = int(rng.triangular(18, 96, 42))
    u = rng.random()
    diabetes = "t1" if u < 0.08 else "t2" if u < (0.30 if age > 45 else 0.14) else ""
    sedentary = rng.random() < (0.4 if diabetes == "t2" or age > 70 else 0.26)
    athlete = not sedentary and rng.random() < (0.18 if age < 60 else 0.05)
    cgm = rng.random() < {"t1": 0.95, "t2": 0.75, "": 0.1}[diabetes]
    devices = {STEPS} | {
        t
        for t, share in ((HR, 0.95), (HRV, 0.7), (SLEEP, 0.85), (KCAL, 0.9))
        if rng.random() < share
    }
    rhr = rng.gauss(64, 7) - 12 * athlete + 6 * sedentary + (25 if rng.random() < 0.06 else 0)
    hrv = rng.gauss(78 - 0.65 * age, 9) + 20 * athlete - 8 * bool(diabetes)
    steps = (
        rng.gauss(13_000, 2500)
        if athlete
        else rng.gauss(3600, 1200)
        if sedentary
        else rng.gauss(7200, 2200)
    )
    poor = rng.random() < 0.22
    return Profile(
        f"user_{index:04d}",
        min(age, 95),
        diabetes,
        rng.random() if diabetes else 0.0,
        athlete,
        sedentary,
        poor,
        rng.choice((5, 5, 15)) if cgm else 0,
        frozenset(devices | ({GLUCOSE} if cgm else set())),
        min(max(rhr, 42), 112),
        max(hrv, 9),
        max(steps, 900) * (0.7 if age > 75 else 1.0),
        int(rng.gauss(1350 + 40 * poor, 35)),
    )


@dataclass(frozen=True, slots=True)
class DayPlan:
    """What happened that day, shared by all record types so they agree with each other."""

    hourly_steps: tuple[int, ...]
    exercise: tuple[int, int, float]  # start minute, minutes, share of 190 bpm; (0, 0, 0) if none


def _plan(p: Profile, day: date, rng: Random) -> DayPlan:
    weekend = day.weekday() >= 5
    factor = max(0.15, rng.gauss(1.0, 0.3))
    exercise = (0, 0, 0.0)
    if rng.random() < (0.8 if p.athlete else 0.05 if p.sedentary else 0.25):
        start = rng.choice((360, 420, 1020, 1080, 1140)) + rng.randrange(60)
        exercise = (
            start,
            rng.randint(30, 100 if p.athlete else 60),
            rng.uniform(0.72, 0.93) if p.athlete else rng.uniform(0.62, 0.82),
        )
    weights = _WEEKEND if weekend else _WEEKDAY
    scale = p.steps * factor / sum(weights)
    hourly = [int(w * scale * rng.uniform(0.5, 1.5)) for w in weights]
    if exercise[1]:
        hour = exercise[0] // 60
        hourly[hour] = min(14_000, hourly[hour] + int(exercise[1] * 140 * exercise[2]))
    return DayPlan(tuple(hourly), exercise)


def _gaps(rng: Random, step: int, big: float) -> range:
    """A sensor or wear gap (minutes, bounds on the sampling grid) or an empty range."""
    if rng.random() < big:  # sensor failed, watch forgotten
        length = rng.randint(240, 900)
    elif rng.random() < 0.3:  # charging, a loose band
        length = rng.randint(30, 120)
    else:
        return range(0)
    start = rng.randrange(0, 1440, step)
    return range(start, start + max(step, length // step * step))


def _slice(table: list[float], rng: Random, n: int) -> list[float]:
    start = rng.randrange(len(table) - n)
    return table[start : start + n]


def _finish(
    minutes: list[int], values: list[float], rng: Random, errors: tuple[float, ...], share: float
) -> tuple[Reading, ...]:
    if rng.random() < share and values:  # a sensor error: a few impossible values
        for _ in range(rng.randint(1, 6)):
            values[rng.randrange(len(values))] = rng.choice(errors)
    return tuple(map(_reading, zip(minutes, values, strict=True)))


def _glucose(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    c = p.control
    if p.diabetes:
        base, amp, dawn, sd = 100 + 80 * c + rng.gauss(0, 12), 45 + 120 * c, 10 + 35 * c, 6 + 6 * c
    else:
        base, amp, dawn, sd = rng.gauss(92, 5), 35.0, 4.0, 3.0
    events = [(int(rng.gauss(t, 30)), amp * rng.uniform(0.6, 1.3)) for t in (450, 760, 1140)]
    if rng.random() < 0.4:
        events.append((rng.randrange(600, 1300), amp * rng.uniform(0.2, 0.6)))  # a snack
    hypo_p = (0.12 + 0.45 * c) if p.diabetes == "t1" else 0.04 + 0.1 * c if p.diabetes else 0.0
    if rng.random() < hypo_p:  # a treated low: a dip to 45-65 mg/dL, then a rebound
        events.append(
            (
                rng.choice((rng.randrange(60, 360), rng.randrange(900, 1080))),
                -(base + amp * 0.5 - rng.uniform(45, 65)) / 0.85,
            )
        )
    if plan.exercise[1] and p.diabetes:
        events.append((plan.exercise[0], -amp * 0.4))
    step = p.cgm_interval
    size = 1440 // step
    noise = _slice(_RED, rng, size)
    curve = [base + dawn * d + sd * e for d, e in zip(_DAWN[::step], noise, strict=True)]
    for t0, a in events:  # add each response over its own window, with C-level maps
        i0 = max(0, -(-t0 // step))
        i1 = min(size, (t0 + 300) // step)
        if i1 > i0:
            kernel = map(mul, _MEAL[i0 * step - t0 :: step], repeat(a))
            curve[i0:i1] = map(add, curve[i0:i1], kernel)
    minutes = _grid(step, _gaps(rng, step, 0.06))
    # What a CGM reports: whole numbers from 40 to 400 mg/dL.
    values = [
        (round(v) if 40 <= v <= 400 else 40 if v < 40 else 400)
        for v in (curve[m // step] for m in minutes)
    ]
    return _finish(minutes, values, rng, (0.0, 1023.0, 5.0, 777.0), 0.03)


def _grid(step: int, gap: range) -> list[int]:
    """Sampling minutes of a day at `step`, without the gap (whose bounds are multiples of step)."""
    if not gap:
        return list(range(0, 1440, step))
    return [*range(0, min(gap.start, 1440), step), *range(gap.stop, 1440, step)]


def _heart_rate(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    wake, bed = rng.randrange(330, 480, 5), min(1440, p.bedtime // 5 * 5)
    rest = round(p.resting_hr + rng.gauss(0, 2))
    awake = [round(rest + 8 + s / 90) for s in plan.hourly_steps]
    e2, e5 = _slice(_WHITE2, rng, 288), _slice(_WHITE5, rng, 288)
    # Integer noise and three branch-free stretches (asleep, awake, asleep): the hot loop of
    # the generator, so it stays in plain int additions.
    values = [rest - 2 + x for x in e2[: wake // 5]]
    values += [awake[i // 12] + e5[i] for i in range(wake // 5, bed // 5)]
    values += [rest - 2 + x for x in e2[bed // 5 :]]
    start, length, effort = plan.exercise
    for i in range(start // 5, min(288, (start + length) // 5)):
        values[i] = round(190 * effort) + e5[-i]
    minutes = _grid(5, _gaps(rng, 5, 0.04))
    if len(minutes) < 288:
        values = [values[m // 5] for m in minutes]
    return _finish(minutes, values, rng, (0, 255, 301), 0.02)


def _hrv(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    base = p.hrv * max(0.5, rng.gauss(1.0, 0.12))
    # A bad day (stress, alcohol, illness) drags HRV down as the hours pass.
    decline = rng.uniform(0.02, 0.04) if rng.random() < 0.12 else 0.0
    minutes, values = [], []
    for hour in range(24):
        if rng.random() < 0.08:
            continue
        night = 1.25 if hour < 6 or hour >= 23 else 0.9
        minutes.append(hour * 60 + rng.randrange(60))
        values.append(round(base * night * (1 - decline * hour) * rng.uniform(0.8, 1.2), 1))
    return _finish(minutes, values, rng, (0.0, 999.0), 0.01)


def _sleep(p: Profile, day: date, rng: Random) -> tuple[SleepStage, ...]:
    late = 45 if day.weekday() in (4, 5) else 0
    t = p.bedtime + late + int(rng.gauss(0, 30))
    latency = int(rng.uniform(15, 70) if p.poor_sleeper else rng.uniform(3, 25))
    target = rng.gauss(300, 50) if p.poor_sleeper else rng.gauss(395, 45)
    segs = [SleepStage(t, t + latency, "awake")]
    t += latency
    slept, cycle = 0, 0
    while slept < target:
        deep = max(0, int(rng.gauss(30 - 9 * cycle, 6)))
        rem = max(5, int(rng.gauss(8 + 6 * cycle, 5)))
        for stage, mins in (
            ("light", rng.randint(25, 45)),
            ("deep", deep),
            ("light", rng.randint(5, 15)),
            ("rem", rem),
        ):
            if mins:
                segs.append(SleepStage(t, t + mins, stage))
                t, slept = t + mins, slept + mins
        if rng.random() < (0.45 if p.poor_sleeper else 0.15):
            wake = rng.randint(5, 40 if p.poor_sleeper else 15)
            segs.append(SleepStage(t, t + wake, "awake"))
            t += wake
        cycle += 1
    segs.append(SleepStage(t, t + rng.randint(1, 12), "awake"))
    if rng.random() < 0.04:  # the watch lost contact for part of the night
        del segs[rng.randrange(1, len(segs) - 1)]
    if rng.random() < 0.01:
        segs.append(SleepStage(t, t - 30, "unknown"))
    return tuple(segs)


def _hourly(values: Sequence[float], rng: Random, errors: tuple[float, ...]) -> tuple[Reading, ...]:
    minutes = _grid(60, _gaps(rng, 60, 0.05))
    return _finish(minutes, [values[m // 60] for m in minutes], rng, errors, 0.01)


def _calories(p: Profile, plan: DayPlan, rng: Random) -> list[float]:
    per_step = 0.045 if p.age < 60 else 0.04
    kcal = [round(s * per_step + rng.uniform(0, 6)) for s in plan.hourly_steps]
    start, length, effort = plan.exercise
    if length:
        kcal[start // 60] += round(length * 14 * effort * rng.uniform(0.8, 1.2))
    return kcal


def _readings(
    record_type: str, p: Profile, day: date, plan: DayPlan, rng: Random
) -> tuple[Reading, ...] | tuple[SleepStage, ...]:
    if record_type == GLUCOSE:
        return _glucose(p, plan, rng)
    if record_type == HR:
        return _heart_rate(p, plan, rng)
    if record_type == HRV:
        return _hrv(p, plan, rng)
    if record_type == SLEEP:
        return _sleep(p, day, rng)
    if record_type == STEPS:
        return _hourly(plan.hourly_steps, rng, (99_999.0, -40.0))
    return _hourly(_calories(p, plan, rng), rng, (9_999.0, -5.0))


def _iter(
    months: Sequence[tuple[int, int]], users: int, seed: int, phi_note_share: float
) -> Iterator[tuple[RawBatch, tuple[str, ...]]]:
    profiles = [make_profile(seed, i) for i in range(users)]
    for year, month in months:
        for dom in range(1, calendar.monthrange(year, month)[1] + 1):
            day = date(year, month, dom)
            for p in profiles:
                rng = Random(f"{seed}:{p.user_id}:{day.isoformat()}")
                if rng.random() < 0.04:  # the user wore nothing that day
                    continue
                plan = _plan(p, day, rng)
                for record_type in RECORD_TYPES:
                    if record_type not in p.devices or rng.random() < 0.03:
                        continue
                    readings = _readings(record_type, p, day, plan, rng)
                    note, phi = None, ()
                    u = rng.random()
                    if u < phi_note_share:
                        note, phi = phi_note(rng, day)
                    elif u < phi_note_share + PLAIN_NOTE_SHARE:
                        note = rng.choice(NOTES[record_type])
                    key = (
                        f"raw/wearables/{p.user_id}/{record_type}/{year:04d}/{month:02d}/"
                        f"{day.isoformat()}.json"
                    )
                    yield RawBatch(p.user_id, record_type, day, readings, key, note), phi


def generate_batches(
    months: Sequence[tuple[int, int]], users: int, seed: int, *, phi_note_share: float = 0.02
) -> Iterator[RawBatch]:
    """One batch per user x record type x day (sleep: night), in month, day, user order."""
    for batch, _ in _iter(months, users, seed, phi_note_share):
        yield batch


def _corrupt(line: bytes, record: dict, rng: Random) -> bytes:
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


def generate_corpus(
    months: Sequence[tuple[int, int]],
    users: int,
    seed: int,
    *,
    phi_note_share: float = 0.02,
    malformed_share: float = 0.005,
    category_map: Mapping[str, str] | None = None,
) -> GeneratedCorpus:
    """The ETL journals for the batches, byte-for-byte reproducible, with their ground truth."""
    # One growing buffer per file: millions of separate line objects fragment the heap (RSS
    # reached 6x the output that way).
    buffers: dict[str, bytearray] = {}
    count = 0
    phi_values: set[str] = set()
    malformed = 0
    where: dict[tuple[str, date], tuple[datetime, bytearray]] = {}  # per record type and day
    for batch, phi in _iter(months, users, seed, phi_note_share):
        if (batch.record_type, batch.day) not in where:
            offset = 2 if batch.record_type == SLEEP else 1  # the night ends the next morning
            processed = datetime.combine(batch.day + timedelta(days=offset), time(2), tzinfo=UTC)
            domain = category_for(batch.record_type, category_map)
            key = journal_key(domain, batch.day.year, batch.day.month)
            where[batch.record_type, batch.day] = processed, buffers.setdefault(key, bytearray())
        processed, buffer = where[batch.record_type, batch.day]
        record = write_example(batch, processed_at=processed, category_map=category_map)
        line = orjson.dumps(record)
        # Drawn from the example's own hash, so a month corrupts the same lines whichever other
        # months are generated. Lines carrying PHI stay intact: every value in phi_values then
        # sits in a valid example.
        draw = int(record["metadata"]["content_hash"][:13], 16)
        if not phi and draw < malformed_share * 16**13:
            line = _corrupt(line, record, Random(draw))
            malformed += 1
        phi_values.update(phi)
        buffer += line
        buffer += b"\n"
        count += 1
    files = {key: bytes(buffers.pop(key)) for key in sorted(buffers)}
    examples = count - malformed
    return GeneratedCorpus(files, examples, malformed, tuple(sorted(phi_values)))


def generate_journal_files(
    months: Sequence[tuple[int, int]],
    users: int,
    seed: int,
    *,
    phi_note_share: float = 0.02,
    malformed_share: float = 0.005,
    category_map: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """`{journal_key: JSONL bytes}` per domain x month; see `generate_corpus` for ground truth."""
    return generate_corpus(
        months,
        users,
        seed,
        phi_note_share=phi_note_share,
        malformed_share=malformed_share,
        category_map=category_map,
    ).files
