"""`registered_model`: one MLflow run per training, the adapter registered as a pyfunc with the
alias `staging`, and the promotion gate against `production` on the same test rows. It registers
exactly the adapter its upstream evaluation scored: lora_adapter, eval_report and
emissions_report must agree on the run identity."""

import dagster as dg

from health_training.defs.handoff import upstream
from health_training.defs.registry.gate import decide, production_answers
from health_training.defs.registry.tracking import challenger_metrics, log_and_register, run_tags
from health_training.defs.training.artifacts import RunArtifacts
from health_training.defs.training.emissions import emissions_report
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
    from health_training.defs.data.repository import DatasetRepository
    from health_training.ml.models import resolve_base_model

    adapter, evaluated, carbon = (
        upstream(context, a) for a in ("lora_adapter", "eval_report", "emissions_report")
    )
    identities = {str(m["run_identity"]) for m in (adapter, evaluated, carbon)}
    if len(identities) != 1:
        raise dg.Failure(f"lora_adapter, eval_report and emissions_report disagree: {identities}")
    run_dir = RunArtifacts(storage, training.runs_dir).fetch(str(adapter["run_identity"]))
    RunArtifacts(storage, training.runs_dir).fetch_folder(str(adapter["run_identity"]), "eval")
    RunArtifacts(storage, training.runs_dir).fetch_folder(str(adapter["run_identity"]), "emissions")
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
    by_key = {
        r["content_key"]: r
        for r in DatasetRepository(storage).split_rows(str(adapter["dataset_version"]), "test")
    }
    rows = [by_key[k] for k in answers["content_keys"]]
    production = production_answers(
        registry,
        str(adapter["base_name"]),
        training.models_dir,
        training.runs_dir,
        answers,
        rows,
        context.log.info,
    )
    decision = decide(
        registry,
        version,
        challenger_metrics(eval_doc),
        answers,
        rows,
        production,
        emissions_kg=float(carbon["kg_co2eq"]),
    )
    context.log.info(f"registered {mlflow.model_name} v{version}; gate: {decision.summary()}")
    return dg.MaterializeResult(
        metadata={
            "model_name": mlflow.model_name,
            "version": version,
            "alias": "production" if decision.auto_promote else "staging",
            "run_identity": str(adapter["run_identity"]),
            "mlflow_run_id": run_id,
            "model_uri": f"models:/{mlflow.model_name}/{version}",
            "gate_passed": decision.passed,
            "gate_reasons": dg.MetadataValue.json(decision.reasons),
            "gate_figures": dg.MetadataValue.json(decision.per_metric),
            "compared_with_production": production[0] or "none",
            "gate_mode": "auto" if decision.auto_promote else "human",
        },
    )
