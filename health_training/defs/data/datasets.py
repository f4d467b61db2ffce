"""Dataset assets: `training_dataset` (stable Parquet splits + manifest, versioned) and
`openai_chat_dataset` (the same splits as OpenAI chat fine-tuning JSONL, cookbook-checked)."""

import datetime as dt

import dagster as dg
import orjson
from pydantic import Field

from health_training.assets.narratives import DataPolicyConfig, _table, curated_narratives
from health_training.data import layout
from health_training.data.dataset import build_training_dataset, read_parquet_rows, select_months
from health_training.data.drift import profile_of
from health_training.data.openai_chat import analyze, select_counter, to_chat_example, to_jsonl
from health_training.data.records import examples_from_jsonl
from health_training.resources import Storage, tiktoken_cache_dir


class TrainingDatasetConfig(DataPolicyConfig):
    last_n_months: int | None = Field(
        default=None,
        description="Use only the latest N curated months (default: all, or the YAML).",
    )


def _curated_months(storage: Storage) -> list[str]:
    return sorted(
        {
            k.split("/")[2]
            for k in storage.list_keys(layout.CURATED_PREFIX)
            if k.endswith("/examples.jsonl")
        }
    )


def _earlier_test_keys(storage: Storage) -> set[str]:
    """Test keys of every earlier version: they stay in test whatever the ratios say now."""
    keys: set[str] = set()
    if not storage.exists(layout.DATASET_HISTORY):
        return keys
    for line in storage.read_bytes(layout.DATASET_HISTORY).splitlines():
        version = orjson.loads(line)["version"]
        split_key = layout.dataset_split(version, "test")
        if storage.exists(split_key):
            keys.update(
                r["content_key"]
                for r in read_parquet_rows(storage.read_bytes(split_key), ["content_key"])
            )
    return keys


@dg.asset(
    group_name="data",
    kinds={"parquet"},
    deps=[
        dg.AssetDep(curated_narratives, partition_mapping=dg.AllPartitionMapping()),
        dg.AssetDep("feedback_examples"),
    ],
)
def training_dataset(
    context: dg.AssetExecutionContext, config: TrainingDatasetConfig, storage: Storage
) -> dg.MaterializeResult:
    """Train/validation/test splits of every curated month (or the last N), assigned by a hash of
    each example's content key so adding or backfilling months never moves an example; earlier
    test examples stay in test. Parquet loadable with `datasets.load_dataset("parquet", ...)`."""
    policy = config.load()
    last_n = config.last_n_months or policy.splits.last_n_months
    months = select_months(_curated_months(storage), last_n)
    if not months:
        raise dg.Failure(
            "no curated months yet: materialize raw_narratives and curated_narratives first, e.g. "
            "`dagster asset materialize -m health_training.definitions --select "
            "raw_narratives,curated_narratives --partition 2025-01-01`"
        )
    curated = {
        m: examples_from_jsonl(storage.read_bytes(layout.curated_examples(m))) for m in months
    }
    feedback_raw = storage.read_optional(layout.FEEDBACK_EXAMPLES)
    feedback = examples_from_jsonl(feedback_raw) if feedback_raw else []
    dataset = build_training_dataset(
        curated, policy.splits, frozen_test_keys=_earlier_test_keys(storage), train_only=feedback
    )

    manifest = {
        **dataset.manifest,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dagster_run_id": context.run.run_id,
        "checks": {"min_examples": dict(policy.checks.min_examples)},
        "files": {
            name: storage.uri(layout.dataset_split(dataset.version, name)) for name in dataset.files
        },
    }
    manifest["feedback_examples_in_train"] = sum(
        1 for r in dataset.rows["train"] if r["source_format"] == "feedback"
    )
    for name, data in dataset.files.items():
        storage.write_bytes(layout.dataset_split(dataset.version, name), data)
    # The drift baseline new months are compared with (see data/drift.py).
    profile = profile_of(dataset.rows.get("train", ()))
    storage.write_bytes(layout.dataset_profile(dataset.version), orjson.dumps(profile.to_dict()))
    manifest_bytes = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    storage.write_bytes(layout.dataset_manifest(dataset.version), manifest_bytes)
    history = storage.read_optional(layout.DATASET_HISTORY) or b""
    if dataset.version.encode() not in history:
        entry = {"version": dataset.version, "created_at": manifest["created_at"], "months": months}
        storage.write_bytes(layout.DATASET_HISTORY, history + orjson.dumps(entry) + b"\n")
    storage.write_bytes(layout.CURRENT_DATASET, orjson.dumps({"version": dataset.version}))
    categories = sorted({c for s in manifest["splits"].values() for c in s["by_category"]})
    names = list(manifest["splits"])
    rows = [
        (c, *(manifest["splits"][n]["by_category"].get(c, 0) for n in names)) for c in categories
    ]
    context.log.info(
        f"training_dataset {dataset.version}: {manifest['examples']} examples from {months}"
    )
    return dg.MaterializeResult(
        metadata={
            "version": dataset.version,
            "examples": manifest["examples"],
            **{f"{n}_examples": manifest["splits"][n]["examples"] for n in names},
            "by_split_and_category": _table(("category", *names), rows),
            "months": dg.MetadataValue.json(months),
            "date_range": dg.MetadataValue.json(manifest["date_range"]),
            "pinned_to_test": manifest["pinned_to_test"],
            "mean_quality": dg.MetadataValue.json(
                {n: s["mean_quality"] for n, s in manifest["splits"].items()}
            ),
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
    """The current training splits as OpenAI chat fine-tuning JSONL (system/user/assistant), with
    the cookbook's format checks, token counts, default epochs and a cost estimate."""
    policy = config.load()
    version = orjson.loads(storage.read_bytes(layout.CURRENT_DATASET))["version"]
    manifest = orjson.loads(storage.read_bytes(layout.dataset_manifest(version)))
    tokenizer, count = select_counter(tiktoken_cache_dir())
    if tokenizer != "cl100k_base":
        context.log.warning(
            "cl100k_base is not cached (set TIKTOKEN_CACHE_DIR): token counts are approximate"
        )
    reports, rows = {}, []
    for split in manifest["splits"]:
        data = read_parquet_rows(
            storage.read_bytes(layout.dataset_split(version, split)),
            ["instruction", "input", "output"],
        )
        chats = [to_chat_example(r["instruction"], r["input"], r["output"]) for r in data]
        storage.write_bytes(layout.openai_split(version, split), to_jsonl(chats))
        report = analyze(
            chats,
            count,
            tokenizer_name=tokenizer,
            token_limit=policy.openai.token_limit,
            price_model=policy.openai.price_model,
        )
        reports[split] = report.to_dict()
        rows.append(
            (
                split,
                report.n_examples,
                sum(report.format_errors.values()),
                report.n_too_long,
                report.tokens_per_example.mean,
                report.n_epochs,
                report.training_tokens_charged,
                report.estimated_cost_usd,
            )
        )
    storage.write_bytes(
        layout.openai_report(version), orjson.dumps(reports, option=orjson.OPT_INDENT_2)
    )
    errors = {s: sum(r["format_errors"].values()) for s, r in reports.items()}
    train = reports.get("train", {})
    return dg.MaterializeResult(
        metadata={
            "dataset_version": version,
            "tokenizer": tokenizer,
            "splits": _table(
                (
                    "split",
                    "examples",
                    "format errors",
                    "over limit",
                    "mean tokens",
                    "epochs",
                    "tokens charged",
                    "est. USD",
                ),
                rows,
            ),
            "train_estimated_cost_usd": train.get("estimated_cost_usd"),
            "price_table_version": train.get("price_table_version"),
            "report": dg.MetadataValue.path(storage.uri(layout.openai_report(version))),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="openai_format",
                passed=not any(errors.values()),
                metadata={
                    "format_errors": dg.MetadataValue.json(
                        {s: r["format_errors"] for s, r in reports.items()}
                    )
                },
            )
        ],
    )
