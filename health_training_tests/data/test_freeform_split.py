"""Question examples: held-out template families form freeform_test, the others never reach the
narrative test split; curation filters them on quality alone."""

from __future__ import annotations

from health_training.data.config import FilterPolicy, SplitPolicy, load_data_config
from health_training.data.curation import filter_reason
from health_training.data.dataset import build_training_dataset
from health_training.data.records import Example, content_key
from health_training.data.splits import FREEFORM_TEST


def _question(i: int, family: str) -> Example:
    ins, out = f"was my avg hr of {60 + i} bpm ok?", f"A resting rate of {60 + i} bpm is normal."
    return Example(
        ins,
        "",
        out,
        {
            "content_key": content_key(ins, "", out),
            "training_category": "cardiovascular_fitness",
            "example_kind": "question",
            "question_kind": family.split(".")[0],
            "template_family": family,
        },
    )


def _narrative(i: int) -> Example:
    ins, inp, out = "Interpret this day.", f"Mean {100 + i} mg/dL.", f"Glucose averaged {100 + i}."
    return Example(ins, inp, out, {"content_key": content_key(ins, inp, out)})


def test_held_out_families_form_freeform_test_and_questions_never_reach_test():
    policy = SplitPolicy(freeform_test_families=("judgement.held",))
    examples = [_narrative(i) for i in range(200)]
    examples += [_question(i, "judgement.held") for i in range(50)]
    examples += [_question(i, "judgement.seen") for i in range(50, 250)]
    dataset = build_training_dataset({"2025-01": examples}, policy)
    families = {name: {r["template_family"] for r in rows} for name, rows in dataset.rows.items()}
    assert families[FREEFORM_TEST] == {"judgement.held"}
    assert len(dataset.rows[FREEFORM_TEST]) == 50
    assert families["test"] == {None}  # narratives only
    assert "judgement.held" not in families["train"] | families["validation"]
    seen = [r for n in ("train", "validation") for r in dataset.rows[n] if r["template_family"]]
    assert len(seen) == 200
    assert 10 < sum(r["template_family"] is not None for r in dataset.rows["validation"]) < 45
    assert dataset.manifest["splits"][FREEFORM_TEST]["examples"] == 50


def test_the_bundled_policy_holds_out_the_etl_writers_families():
    from health_training.etl.questions.families import HELD_OUT_FAMILIES

    policy = load_data_config().splits
    assert set(policy.freeform_test_families) == set(HELD_OUT_FAMILIES) != set()


def test_questions_pass_curation_on_quality_alone():
    policy = FilterPolicy()
    question = {
        "source_format": "etl",
        "example_kind": "question",
        "quality_score": 0.9,
        "complexity_level": "low",
        "clinical_relevance": "standard",
    }
    assert filter_reason(question, policy) is None
    assert filter_reason({**question, "quality_score": 0.5}, policy) == "quality_below_min"
    narrative = {k: v for k, v in question.items() if k != "example_kind"}
    assert filter_reason(narrative, policy) == "complexity_excluded"
