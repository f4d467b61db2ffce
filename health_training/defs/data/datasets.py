"""Dataset assets: `training_dataset` (stable Parquet splits + manifest, versioned) and
`openai_chat_dataset` (the same splits as OpenAI chat fine-tuning JSONL, cookbook-checked)."""

import dagster as dg
from pydantic import Field

from health_training.data import layout
from health_training.data.chat_tokens import select_counter
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.dataset_versions import DatasetRefused, build_and_store, export_openai
from health_training.defs.data.config import DataPolicyConfig
from health_training.defs.data.narratives import curated_narratives
from health_training.defs.handoff import upstream
from health_training.defs.metadata import md_table
from health_training.resources import PhiResource, Storage, tiktoken_cache_dir


class TrainingDatasetConfig(DataPolicyConfig):
    last_n_months: int | None = Field(
        default=None, description="Use only the latest N curated months (default: all, or YAML)."
    )


@dg.asset(
    group_name="data",
    kinds={"parquet"},
    deps=[
        dg.AssetDep(curated_narratives, partition_mapping=dg.AllPartitionMapping()),
        dg.AssetDep("feedback_examples"),
    ],
)
def training_dataset(
    context: dg.AssetExecutionContext,
    config: TrainingDatasetConfig,
    storage: Storage,
    phi: PhiResource,
) -> dg.MaterializeResult:
    """Train/validation/test splits of every curated month (or the last N), assigned by a hash of
    each example's content key so adding or backfilling months never moves an example; earlier
    test examples stay in test. Parquet loadable with `datasets.load_dataset("parquet", ...)`."""
    policy = config.load()
    try:
        dataset, manifest = build_and_store(
            DatasetRepository(storage),
            policy,
            last_n=config.last_n_months or policy.splits.last_n_months,
            fingerprint=phi.fingerprint(),
            run_id=context.run_id,
        )
    except DatasetRefused as exc:
        raise dg.Failure(str(exc)) from exc
    names = list(manifest["splits"])
    categories = sorted({c for s in manifest["splits"].values() for c in s["by_category"]})
    rows = [
        (c, *(manifest["splits"][n]["by_category"].get(c, 0) for n in names)) for c in categories
    ]
    context.log.info(f"training_dataset {dataset.version}: {manifest['examples']} examples")
    return dg.MaterializeResult(
        metadata={
            "version": dataset.version,
            "examples": manifest["examples"],
            **{f"{n}_examples": manifest["splits"][n]["examples"] for n in names},
            "by_split_and_category": md_table(("category", *names), rows),
            "months": dg.MetadataValue.json(manifest["months"]),
            "date_range": dg.MetadataValue.json(manifest["date_range"]),
            "pinned_to_test": manifest["pinned_to_test"],
            "pseudonym_key_fingerprint": manifest["pseudonym_key_fingerprint"],
            "manifest": dg.MetadataValue.path(
                storage.uri(layout.dataset_manifest(dataset.version))
            ),
        },
        data_version=dg.DataVersion(dataset.version),
    )


@dg.asset(
    group_name="data",
    kinds={"openai", "json"},
    deps=[training_dataset],
    check_specs=[
        dg.AssetCheckSpec(
            "openai_format",
            asset="openai_chat_dataset",
            description="The OpenAI cookbook's seven format error classes are all zero.",
        )
    ],
)
def openai_chat_dataset(
    context: dg.AssetExecutionContext, config: DataPolicyConfig, storage: Storage
) -> dg.MaterializeResult:
    """The training splits (the version training_dataset produced) as OpenAI chat fine-tuning
    JSONL (system/user/assistant), with the cookbook's format checks, token counts, default
    epochs and a cost estimate."""
    version = str(upstream(context, "training_dataset")["version"])
    tokenizer, count = select_counter(tiktoken_cache_dir())
    if tokenizer != "cl100k_base":
        context.log.warning("cl100k_base is not cached (TIKTOKEN_CACHE_DIR): counts approximate")
    reports = export_openai(DatasetRepository(storage), version, config.load(), tokenizer, count)
    head = ("split", "examples", "format errors", "over limit", "epochs", "tokens", "est. USD")
    keys = ("n_examples", "format_errors", "n_too_long", "n_epochs", "training_tokens_charged")
    table = [
        (
            s,
            *(sum(r[k].values()) if k == "format_errors" else r[k] for k in keys),
            r["estimated_cost_usd"],
        )
        for s, r in reports.items()
    ]
    errors = {s: r["format_errors"] for s, r in reports.items()}
    return dg.MaterializeResult(
        metadata={
            "dataset_version": version,
            "tokenizer": tokenizer,
            "splits": md_table(head, table),
            "train_estimated_cost_usd": reports.get("train", {}).get("estimated_cost_usd"),
            "price_table_version": reports.get("train", {}).get("price_table_version"),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="openai_format",
                passed=not any(sum(e.values()) for e in errors.values()),
                metadata={"format_errors": dg.MetadataValue.json(errors)},
            )
        ],
    )
