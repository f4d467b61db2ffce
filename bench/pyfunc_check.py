"""The registered model as a user loads it: `mlflow.pyfunc.load_model("models:/<name>@<alias>")`,
asked the frozen test split's instruction and input, scored with the evaluation's own metrics
(fact accuracy and recall, hallucinated numbers, ROUGE-L) but not through its code path.

    HEALTH_TRAINING_HOME=var .venv/bin/python bench/pyfunc_check.py --alias staging --n 40

The test rows come from the newest dataset version under the lake (`datasets/training/*`,
newest manifest); the answers are scored against the facts the ETL writer recorded with each row.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alias", default="staging")
    parser.add_argument("--model", default="health-query-olmo")
    parser.add_argument("--n", type=int, default=40, help="test examples, stratified by domain")
    args = parser.parse_args()

    import mlflow

    from health_training.ml.evaluation.answer_and_compare import stratified_sample
    from health_training.ml.evaluation.text_metrics import score_predictions

    home = Path(os.environ.get("HEALTH_TRAINING_HOME", "var"))
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    manifests = sorted(
        (home / "lake" / "datasets" / "training").glob("*/manifest.json"),
        key=lambda p: p.stat().st_mtime,
    )
    test = pd.read_parquet(manifests[-1].parent / "test.parquet").to_dict("records")
    rows = stratified_sample(test, args.n)
    start = time.perf_counter()
    model = mlflow.pyfunc.load_model(f"models:/{args.model}@{args.alias}")
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    answers = model.predict(
        pd.DataFrame([{"instruction": r["instruction"], "input": r["input"] or ""} for r in rows])
    )
    seconds = time.perf_counter() - start
    scored = score_predictions(
        [
            {
                "prediction": answer,
                "reference": row["output"],
                "instruction": row["instruction"],
                "input": row["input"] or "",
                "facts": json.loads(row["metadata_json"]).get("facts"),
                "category": row.get("category"),
            }
            for row, answer in zip(rows, answers, strict=True)
        ]
    )["overall"]
    print(f"models:/{args.model}@{args.alias}: loaded in {loaded:.1f}s, {len(rows)} test rows "
          f"answered in {seconds:.1f}s ({seconds / len(rows):.2f} s/example)")  # fmt: skip
    for name in ("fact_accuracy", "fact_recall", "hallucinated_number_rate", "rougeL", "phi_rate"):
        print(f"  {name}: {scored.get(name)}")
    print(f"  first answer: {answers[0][:300]!r}")


if __name__ == "__main__":
    main()
