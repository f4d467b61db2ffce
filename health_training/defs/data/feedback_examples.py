"""`feedback_examples`: low-rated answers that carry a correction, as PHI-scrubbed, deduplicated
instruction examples that join `training_dataset` in its train split only."""

import dagster as dg

from health_training.data import layout
from health_training.data.correction_examples import feedback_examples as build_examples
from health_training.data.records import examples_to_jsonl
from health_training.resources import FeedbackResource, PhiResource, Storage


@dg.asset(group_name="data", kinds={"sqlite"})
def feedback_examples(
    context: dg.AssetExecutionContext,
    feedback: FeedbackResource,
    phi: PhiResource,
    storage: Storage,
) -> dg.MaterializeResult:
    """Corrections from user feedback (ratings ≤ 2 with a corrected answer) as train-only
    examples; scrubbed again and deduplicated by content key."""
    rows = feedback.store().corrections()
    examples = build_examples(rows, pseudonymize=phi.pseudonymizer())
    storage.write_bytes(layout.FEEDBACK_EXAMPLES, examples_to_jsonl(examples))
    context.log.info(f"{len(examples)} feedback corrections from {len(rows)} low-rated answers")
    return dg.MaterializeResult(
        metadata={
            "corrections_read": len(rows),
            "examples": len(examples),
            "location": dg.MetadataValue.path(storage.uri(layout.FEEDBACK_EXAMPLES)),
        }
    )
