"""`registered_model`: one MLflow run per training, the adapter registered as a pyfunc with the
alias `staging`, and the promotion gate against `production` on the same test rows and the
held-out rated prompts of its preference data (ml/registry/run_registration.py, ml/registry/version_gate.py). It
registers exactly the adapter its upstream evaluation scored: lora_adapter, eval_report and
emissions_report must agree on the run identity."""

from typing import Any

import dagster as dg

from health_training.constants import PRODUCTION, STAGING
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.splits import FREEFORM_TEST
from health_training.defs.handoff import upstream
from health_training.defs.phase_clock import announce_phase
from health_training.defs.training.emissions import emissions_report
from health_training.ml.registry.run_registration import Registration, register_and_gate
from health_training.ml.registry.version_gate import rated_prompts_of
from health_training.ml.training.run_artifacts import RunArtifacts
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
    announce_phase(context)
    adapter, evaluated, carbon = (
        upstream(context, a) for a in ("lora_adapter", "eval_report", "emissions_report")
    )
    identities = {str(m["run_identity"]) for m in (adapter, evaluated, carbon)}
    if len(identities) != 1:
        raise dg.Failure(f"lora_adapter, eval_report and emissions_report disagree: {identities}")
    identity, dataset = str(adapter["run_identity"]), str(adapter["dataset_version"])
    artifacts, repo = RunArtifacts(storage, training.runs_dir), DatasetRepository(storage)
    run_dir = artifacts.fetch(identity)
    for folder in ("eval", "emissions"):
        artifacts.fetch_folder(identity, folder)
    registered = register_and_gate(
        mlflow.registry(),
        run_dir,
        adapter,
        dagster_run_id=context.run_id,
        emissions=carbon,
        test_rows=repo.rows_by_key(dataset, "test") or {},
        freeform_rows=repo.rows_by_key(dataset, FREEFORM_TEST),
        rated_prompts=rated_prompts_of(storage, adapter.get("preference_data_version")),
        models_dir=training.models_dir,
        cache=training.runs_dir,
        log=context.log.info,
    )
    context.log.info(
        f"registered {mlflow.model_name} v{registered.version}; "
        f"gate: {registered.decision.summary()}"
    )
    return dg.MaterializeResult(metadata=version_metadata(mlflow.model_name, registered, identity))


def version_metadata(model_name: str, registered: Registration, identity: str) -> dict[str, Any]:
    """What `registered_model` records for people: the version, its alias and the gate."""
    decision, version = registered.decision, registered.version
    return {
        "model_name": model_name,
        "version": version,
        "alias": PRODUCTION if decision.auto_promote else STAGING,
        "run_identity": identity,
        "mlflow_run_id": registered.run_id,
        "model_uri": f"models:/{model_name}/{version}",
        "gate_passed": decision.passed,
        "gate_reasons": dg.MetadataValue.json(decision.reasons),
        "gate_figures": dg.MetadataValue.json(decision.per_metric),
        "compared_with_production": registered.compared_with or "none",
        "gate_mode": "auto" if decision.auto_promote else "human",
    }
