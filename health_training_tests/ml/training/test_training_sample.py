"""Which train rows a capped run learns from: every correction, questions by kind, narratives by
domain."""

from __future__ import annotations

from health_training.ml.training.sample import training_sample


def _rows() -> list[dict]:
    rows = []
    for i in range(40):
        cat = ("metabolic_diabetes", "sleep_recovery")[i % 2]
        rows.append({"content_key": f"n{i:03d}", "category": cat, "source_format": "etl"})
    for i in range(30):
        kind = ("lookup", "computation", "unanswerable")[i % 3]
        rows.append(
            {
                "content_key": f"q{i:03d}",
                "category": "sleep_recovery",
                "source_format": "etl",
                "example_kind": "question",
                "question_kind": kind,
            }
        )
    for i in range(25):
        rows.append(
            {"content_key": f"c{i:03d}", "category": "general_health", "source_format": "feedback"}
        )
    return rows


def test_every_correction_is_kept_and_the_rest_is_capped_by_kind():
    sample = training_sample(_rows(), max_narratives=10, max_questions=9)
    keys = [r["content_key"] for r in sample.rows]
    assert sum(k.startswith("c") for k in keys) == 25 == sample.corrections
    assert sum(k.startswith("q") for k in keys) == 9 == sample.questions
    assert sum(k.startswith("n") for k in keys) == 10 == sample.narratives
    kinds = [r["question_kind"] for r in sample.rows if r.get("example_kind") == "question"]
    assert sorted(set(kinds)) == ["computation", "lookup", "unanswerable"]
    assert kinds.count("lookup") == kinds.count("computation") == 3
    cats = [r["category"] for r in sample.rows if r["content_key"].startswith("n")]
    assert cats.count("metabolic_diabetes") == cats.count("sleep_recovery") == 5


def test_no_cap_takes_everything_and_the_sample_is_deterministic():
    rows = _rows()
    assert len(training_sample(rows, max_narratives=None, max_questions=None).rows) == len(rows)
    a = training_sample(rows, max_narratives=7, max_questions=5)
    b = training_sample(list(reversed(rows)), max_narratives=7, max_questions=5)
    # The same rows whatever order the split file lists them in.
    assert sorted(r["content_key"] for r in a.rows) == sorted(r["content_key"] for r in b.rows)


def test_a_kind_limit_buys_more_of_the_other_kinds():
    sample = training_sample(
        _rows(), max_narratives=0, max_questions=9, question_kind_limits={"computation": 1}
    )
    kinds = [r["question_kind"] for r in sample.rows if r.get("example_kind") == "question"]
    assert kinds.count("computation") == 1
    assert kinds.count("lookup") == kinds.count("unanswerable") == 4
