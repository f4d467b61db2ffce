"""`registered_model`: one MLflow run per training, the adapter registered as a pyfunc with the
alias `staging`, and the promotion gate against `production` on the same test rows and the
held-out rated prompts of its preference data. It registers
exactly the adapter its upstream evaluation scored: lora_adapter, eval_report and
emissions_report must agree on the run identity."""

import dagster as dg

from health_training.defs.handoff import upstream
from health_training.defs.registry.gate import (
    gate_new_version,
    rated_prompts_of,
    version_metadata,
)
from health_training.defs.registry.tracking import log_and_register, run_tags
from health_training.defs.training.emissions import emissions_report
from health_training.ml.run_artifacts import RunArtifacts
from health_training.resources import MlflowResource, Storage, TrainingResource


@dg.asset(group_name="registry", kinds={"mlflow"}, deps=[emissions_report])
def registered_model(
    context: dg.AssetExecutionContext,
    training: TrainingResource,
    mlflow: MlflowResource,
    storage: Storage,
) -> dg.MaterializeResult:
    """The fine-tuned adapter logged to MLflow (params, step metrics, reports, emissions, loss
    curve) and registered as a pyfunc that holds the adapter and names its base; alias staging."""
    from health_training.data.dataset_repository import DatasetRepository
    from health_training.data.splits import FREEFORM_TEST
    from health_training.ml.models import resolve_base_model

    adapter, evaluated, carbon = (
        upstream(context, a) for a in ("lora_adapter", "eval_report", "emissions_report")
    )
    identities = {str(m["run_identity"]) for m in (adapter, evaluated, carbon)}
    if len(identities) != 1:
        raise dg.Failure(f"lora_adapter, eval_report and emissions_report disagree: {identities}")
    artifacts = RunArtifacts(storage, training.runs_dir)
    run_dir = artifacts.fetch(str(adapter["run_identity"]))
    for folder in ("eval", "emissions"):
        artifacts.fetch_folder(str(adapter["run_identity"]), folder)
    spec = resolve_base_model(str(adapter["base_name"]), training.models_dir)
    registry = mlflow.registry()
    run_id, version, eval_doc, answers = log_and_register(
        registry,
        run_dir,
        adapter,
        run_tags(adapter, context.run_id),
        {k: carbon[k] for k in ("kg_co2eq", "energy_kwh")},
        base_dir=spec.source if spec.local else None,
    )
    repo, dataset = DatasetRepository(storage), str(adapter["dataset_version"])
    test_rows = {r["content_key"]: r for r in repo.split_rows(dataset, "test")}
    freeform_rows = (
        {r["content_key"]: r for r in repo.split_rows(dataset, FREEFORM_TEST)}
        if FREEFORM_TEST in repo.manifest(dataset)["splits"]
        else None
    )
    decision, compared_with = gate_new_version(
        registry,
        version,
        eval_doc,
        answers,
        test_rows,
        base_name=str(adapter["base_name"]),
        models_dir=training.models_dir,
        cache=training.runs_dir,
        emissions_kg=float(carbon["kg_co2eq"]),
        log=context.log.info,
        rated_prompts=rated_prompts_of(storage, adapter.get("preference_data_version")),
        challenger_adapter=run_dir / "adapter",
        freeform_rows=freeform_rows,
    )
    context.log.info(f"registered {mlflow.model_name} v{version}; gate: {decision.summary()}")
    return dg.MaterializeResult(
        metadata=version_metadata(
            mlflow.model_name,
            version,
            decision,
            str(adapter["run_identity"]),
            run_id,
            compared_with,
        )
    )
