"""`eval_report`: the adapter its upstream produced vs its base on a stratified sample of that
adapter's own dataset version's frozen test split (support code in evaluation_support.py)."""

import dagster as dg
from pydantic import Field

from health_training.defs.handoff import upstream
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.evaluation_support import eval_metadata, evaluate_run
from health_training.resources import CarbonResource, JudgeResource, Storage, TrainingResource


class EvalReportConfig(dg.Config):
    max_examples: int = Field(
        default=200, description="Test examples scored: an equal share per health domain."
    )
    batch_size: int = Field(default=16, description="Answers generated together.")


@dg.asset(group_name="training", kinds={"pytorch"}, deps=[lora_adapter])
def eval_report(
    context: dg.AssetExecutionContext,
    config: EvalReportConfig,
    storage: Storage,
    training: TrainingResource,
    carbon: CarbonResource,
    judge: JudgeResource,
) -> dg.MaterializeResult:
    """Base model vs fine-tuned adapter: response-token loss, EM, token F1, BLEU, ROUGE,
    hallucinated numbers, fact accuracy and recall, EOS rate and a PHI probe, per health domain,
    every difference with a paired bootstrap 95 % interval; JSON, Markdown, HTML in storage."""
    adapter = upstream(context, "lora_adapter")
    outcome, report, keys = evaluate_run(
        adapter,
        n_examples=config.max_examples,
        batch_size=config.batch_size,
        storage=storage,
        training=training,
        carbon=carbon,
        judge=judge,
        log=context.log.info,
    )
    return dg.MaterializeResult(metadata=eval_metadata(report, outcome, adapter, keys, storage))
