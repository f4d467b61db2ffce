"""Training and evaluation runs started from the admin API, through Dagster's GraphQL client
(`dagster_graphql.DagsterGraphQLClient`) against the webserver of the installation (`dg dev`,
or the deployment's webserver). Runs carry the same tags as any other training run
(tags.training_tags: the GPU tag and the reason `manual`) plus who asked, so the run queue, the
GPU launcher and MLflow treat them like the CLI's `health-training train`.
"""

from __future__ import annotations

import re
from typing import Any

from health_training.constants import (
    EVALUATE_JOB,
    REASON_TAG,
    REQUESTED_BY_TAG,
    TRACE_TAG,
    TRAIN_JOB,
    training_tags,
)
from health_training.serving.http.api_errors import OpenAIError

ADMIN_JOBS = (TRAIN_JOB, EVALUATE_JOB)
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_RUN_QUERY = """
query AdminRun($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId jobName status }
    ... on PythonError { message }
  }
}
"""

_RUNS_QUERY = """
query AdminRuns($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs {
      results { runId jobName status creationTime startTime endTime tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterJobs:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def _client(self) -> Any:
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient(self.host, port_number=self.port, timeout=30)

    def _call(self, what: str, fn: Any) -> Any:
        from dagster_graphql import DagsterGraphQLClientError

        try:
            return fn(self._client())
        except DagsterGraphQLClientError as exc:
            causes = _causes(exc)
            unreachable = any("Connection" in type(c).__name__ for c in causes)
            detail = str(causes[-1]).splitlines()[0][:300] if str(causes[-1]) else "no detail"
            raise OpenAIError(
                503 if unreachable else 502,
                f"Dagster at {self.host}:{self.port} could not {what}: {detail}",
                "server_error",
                code="dagster_unavailable" if unreachable else "dagster_error",
            ) from None

    def launch_training(self, requested_by: str, trace_id: str | None = None) -> str:
        extra = {REQUESTED_BY_TAG: requested_by} | ({TRACE_TAG: trace_id} if trace_id else {})
        tags = training_tags("manual", **extra)
        return self._call(
            f"launch {TRAIN_JOB}", lambda c: c.submit_job_execution(TRAIN_JOB, tags=tags)
        )

    def launch_evaluation(self, version: str, max_examples: int, requested_by: str) -> str:
        config = {
            "ops": {
                "evaluate_registered_version": {
                    "config": {
                        "version": version,
                        "max_examples": max_examples,
                        "requested_by": requested_by,
                    }
                }
            }
        }
        tags = {REASON_TAG: "manual", REQUESTED_BY_TAG: requested_by}
        return self._call(
            f"launch {EVALUATE_JOB}",
            lambda c: c.submit_job_execution(EVALUATE_JOB, run_config=config, tags=tags),
        )

    def list_runs(self, limit: int) -> list[dict[str, Any]]:
        variables = {"filter": {"pipelineName": None}, "limit": limit}
        runs: list[dict[str, Any]] = []
        for job in ADMIN_JOBS:
            variables["filter"] = {"pipelineName": job}
            found = self._call("list runs", lambda c, v=dict(variables): c._execute(_RUNS_QUERY, v))
            result = found["runsOrError"]
            if result["__typename"] != "Runs":
                raise OpenAIError(502, f"Dagster: {result.get('message', result)}", "server_error")
            runs.extend(_run(r) for r in result["results"])
        runs.sort(key=lambda r: r["created_at"] or 0, reverse=True)
        return runs[:limit]

    def own_run(self, run_id: str) -> dict[str, str]:
        """The run's job and status when it is a run of this project's admin jobs; else a 404
        (the same for a run that does not exist: nothing else in the instance is reachable)."""
        missing = OpenAIError(
            404,
            f"no {' or '.join(ADMIN_JOBS)} run {run_id!r}",
            "not_found_error",
            code="run_not_found",
        )
        if not _RUN_ID.match(run_id):
            raise missing
        found = self._call("read the run", lambda c: c._execute(_RUN_QUERY, {"runId": run_id}))
        run = found["runOrError"]
        if run["__typename"] == "PythonError":
            raise OpenAIError(502, "Dagster could not read the run", "server_error")
        if run["__typename"] != "Run" or run["jobName"] not in ADMIN_JOBS:
            raise missing
        return {"job": run["jobName"], "status": run["status"]}

    def status(self, run_id: str) -> str:
        return self._call("read the run", lambda c: c.get_run_status(run_id).value)

    def cancel(self, run_id: str) -> None:
        self._call("cancel the run", lambda c: c.terminate_run(run_id))


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (the client wraps transport errors)."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain


def _run(raw: dict[str, Any]) -> dict[str, Any]:
    tags = {t["key"]: t["value"] for t in raw.get("tags") or []}
    return {
        "run_id": raw["runId"],
        "job": raw["jobName"],
        "status": raw["status"],
        "created_at": raw.get("creationTime"),
        "started_at": raw.get("startTime"),
        "ended_at": raw.get("endTime"),
        "reason": tags.get(REASON_TAG),
        "requested_by": tags.get(REQUESTED_BY_TAG),
    }
