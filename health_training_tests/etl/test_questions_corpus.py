"""Question examples over generated data: every number of every answer supported, statements
attributed to the right facts, what was asked stated, varied endings, PHI-safe wording, and the
generator's journals with question lines."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import islice

import orjson
import pytest

from health_training.data.fact_vocabulary import FACT_UNITS
from health_training.data.phi import scrub_many
from health_training.data.records import ETL_METADATA_FIELDS
from health_training.etl.generator import generate_batches, generate_corpus
from health_training.etl.questions import (
    FAMILIES,
    KIND_WEIGHTS,
    QUESTION_FIELDS,
    write_day_stated,
    write_day_summary,
    write_question,
)
from health_training.etl.questions.quantities import unit_of
from health_training.etl.questions.user_stated import MAX_ANSWER_CHARS
from health_training.etl.questions.verdicts import JUDGED_FACTS, judge
from health_training.etl.reference_values import REFERENCE_VALUES
from health_training.ml.evaluation.faithfulness import factual_consistency, scan_quantities
from health_training.ml.evaluation.statements import score_facts
from health_training_tests.etl.samples import PROCESSED

REFERENCES = "\n".join(f"{r.value:g} {r.unit or ''}" for r in REFERENCE_VALUES)


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    """Every kind for every batch of a month of 6 users, and a summary and a message stating
    the numbers of every user-day."""
    batches = list(generate_batches([(2025, 3)], 6, seed=21))
    out = [
        write_question(b, kind=kind, processed_at=PROCESSED, salt="t")
        for b in batches
        for kind in KIND_WEIGHTS
    ]
    days: dict[tuple, list] = defaultdict(list)
    for b in batches:
        days[b.user_id, b.day].append(b)
    summaries = [
        write(bs, processed_at=PROCESSED, salt="t")
        for bs in days.values()
        for write in (write_day_summary, write_day_stated)
    ]
    return out + [s for s in summaries if s]


def derived_written_out(facts: dict) -> str:
    """The values the writer computed (names outside the record's fact vocabulary), written
    with their units, as the grounding rule offers them to an answer."""
    parts = []
    for name, value in facts.items():
        if name in FACT_UNITS:
            continue
        unit = unit_of(name)
        parts.append(value if isinstance(value, str) else f"{value} {unit or ''}")
    return " ".join(parts)


def test_there_are_thousands_of_every_kind(examples):
    kinds = Counter(e["metadata"]["question_kind"] for e in examples)
    assert len(examples) > 4_000 and min(kinds.values()) > 150, kinds
    families = {e["metadata"]["template_family"] for e in examples}
    assert set(FAMILIES) == families


@pytest.mark.slow
def test_every_number_of_every_answer_is_supported(examples):
    for e in examples:
        source = "\n".join(
            (e["instruction"], e["input"], REFERENCES, derived_written_out(e["metadata"]["facts"]))
        )
        score = factual_consistency(e["output"], source)
        assert score.hallucinated == 0, (e["instruction"], e["output"], score.hallucinated_values)


def test_no_answer_states_a_number_as_a_fact_it_is_not(examples):
    from health_training.ml.evaluation.stated_comparisons import contradicted_comparisons

    for e in examples:
        assert contradicted_comparisons(e["output"]) == (), e["output"]
        score = score_facts(e["output"], e["metadata"]["facts"], e["output"])
        assert score.wrong == (), (e["output"], score.wrong)


def test_what_was_asked_is_stated(examples):
    for e in examples:
        stated = [q for _, _, q in scan_quantities(e["output"])]
        for asked in e["metadata"]["asked"]:
            if asked["unit"] == "time":
                continue
            value = abs(asked["value"])
            assert any(
                abs(q.value * (60 if q.unit == "h" else 1) - value) <= 0.5 * 10**-q.decimals
                for q in stated
            ), (asked, e["output"])


@pytest.mark.slow
def test_answers_pass_the_serving_guard_and_the_freeform_metrics(examples):
    """The consumers' own rules: the serving guard derives changes, balances, paces and time in
    bed from the request alone (ml/evaluation/grounding.py), and the free-form evaluation counts an asked
    value as stated by its own rule (ml/evaluation/freeform_eval.py)."""
    from health_training.ml.evaluation.freeform_eval import CANNOT_ANSWER, stated_correctly
    from health_training.ml.evaluation.grounding import check_grounding

    for e in examples:
        request = f"{e['instruction']}\n{e['input']}"
        assert check_grounding(e["output"], request).hallucinated == 0, (request, e["output"])
        assert all(stated_correctly(e["output"], a) for a in e["metadata"]["asked"]), e["output"]
        assert bool(CANNOT_ANSWER.search(e["output"])) == e["metadata"]["cannot_answer"]


def test_answers_are_short_and_end_in_many_ways(examples):
    endings = Counter()
    for e in examples:
        kind = e["metadata"]["question_kind"]
        limit = {"day_summary": 500, "user_stated": MAX_ANSWER_CHARS}.get(kind, 350)
        assert 20 < len(e["output"]) <= limit, e["output"]
        endings[e["output"].rsplit(". ", 1)[-1]] += 1
    assert endings.most_common(1)[0][1] < 0.05 * len(examples)


def test_judgements_cover_normal_and_abnormal_values(examples):
    judged = [
        judge(a["fact"], a["value"]).flagged
        for e in examples
        if e["metadata"]["question_kind"] in ("judgement", "user_stated")
        for a in e["metadata"]["asked"]
        if a["fact"] in JUDGED_FACTS  # a user may also state GMI or time awake, unjudged
    ]
    # Real days are mostly normal; abnormal values are preferred when a day has one.
    assert 0.15 < sum(judged) / len(judged) < 0.85


def test_user_stated_questions_carry_their_numbers(examples):
    stated = [e for e in examples if e["metadata"]["question_kind"] == "user_stated"]
    # No record: at most what the stated numbers imply (etl/computed.py).
    assert all(e["input"] == "" or e["input"].startswith("Computed from") for e in stated)
    for e in stated:
        assert e["metadata"]["facts"] and set(e["metadata"]["facts"]) <= set(FACT_UNITS)
    several = sum(len(e["metadata"]["facts"]) > 1 for e in stated)
    assert several > 0.2 * len(stated)  # glucose, heart rate and sleep offer several values


@pytest.mark.slow
def test_the_phi_scrubber_leaves_questions_and_answers_alone(examples):
    picked = list(islice(examples[::7], 400))
    texts = [t for e in picked for t in (e["instruction"], e["output"])]
    results = scrub_many(texts)
    changed = [(t, r.text) for t, r in zip(texts, results, strict=True) if r.text != t]
    assert len(changed) <= 0.02 * len(texts), changed[:10]


# --- the generator -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus([(2025, 1)], 4, seed=5, malformed_share=0.02)


def _docs(files: dict[str, bytes]) -> tuple[list[dict], int]:
    """The valid examples (an object with instruction, input, output and a numeric quality; the
    input may be empty) and the count of other lines."""
    docs, bad = [], 0
    for data in files.values():
        for line in data.splitlines():
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                doc = None
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if (
                isinstance(meta, dict)
                and isinstance(meta.get("quality_score"), float)
                and doc.get("instruction")
                and doc.get("output")
                and isinstance(doc.get("input"), str)
            ):
                docs.append(doc)
            else:
                bad += 1
    return docs, bad


def test_generated_journals_hold_question_lines_with_all_metadata(corpus):
    docs, bad = _docs(corpus.files)
    questions = [d for d in docs if d["metadata"].get("example_kind") == "question"]
    kinds = Counter(d["metadata"]["question_kind"] for d in questions)
    assert set(kinds) == set(FAMILIES_KINDS), kinds
    for d in questions:
        assert list(d["metadata"]) == [*ETL_METADATA_FIELDS, "content_hash", *QUESTION_FIELDS]
        assert d["instruction"] and d["output"] and isinstance(d["metadata"]["facts"], dict)
    share = (len(questions) - kinds["day_summary"]) / (len(docs) + bad - len(questions))
    assert 0.15 < share < 0.35
    assert len(docs) == corpus.examples and bad == corpus.malformed  # questions are never corrupt
    keys = [d["metadata"]["source_key"] for d in docs]
    assert len(set(keys)) == len(keys)


FAMILIES_KINDS = {f.split(".")[0] for f in FAMILIES}


def test_narrative_lines_are_unchanged_by_questions(corpus):
    plain = generate_corpus(
        [(2025, 1)], 4, seed=5, malformed_share=0.02, question_share=0.0, day_summary_share=0.0
    )
    for key, data in corpus.files.items():
        kept = [line for line in data.splitlines() if b'"example_kind":"question"' not in line]
        assert kept == plain.files[key].splitlines()


def test_questions_are_reproducible_and_a_month_does_not_depend_on_others(corpus):
    assert generate_corpus([(2025, 1)], 4, seed=5, malformed_share=0.02).files == corpus.files
    alone = generate_corpus([(2025, 2)], 3, seed=8).files
    both = generate_corpus([(2025, 1), (2025, 2)], 3, seed=8).files
    assert alone == {k: v for k, v in both.items() if "/2025/02/" in k}


def test_only_questions_the_data_cannot_answer_carry_a_scope_marker(examples):
    """A marker on an answerable question would teach the model to refuse it."""
    from health_training.etl.asked_scope import SCOPES

    parts = [part for _, _, part in SCOPES]
    marked = Counter()
    for e in examples:
        has = any(p in e["input"] for p in parts)
        assert not has or e["metadata"].get("cannot_answer"), (e["instruction"], e["input"])
        marked[bool(e["metadata"].get("cannot_answer")), has] += 1
    # Five of the eight unanswerable situations are marked (a missing measure, no data and an
    # unusable record are said by the line's other parts).
    assert marked[True, True] > marked[True, False] / 2, marked
