"""A fake OpenAI fine-tuning API on 127.0.0.1 for the real `openai` client (no patching inside it).

It speaks the shapes the client parses: POST /v1/files (multipart), POST /v1/fine_tuning/jobs,
GET /v1/fine_tuning/jobs/{id} (each GET moves the job one step along `statuses`; the last one
repeats), GET .../events, GET .../checkpoints, POST .../cancel and POST /v1/chat/completions.
Every request is recorded in `requests` as (method, path, parsed body).

    with FakeOpenAI(["queued", "running", "succeeded"]) as api:
        client = openai.OpenAI(base_url=api.base_url, api_key="test")
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHECKPOINT_METRICS = [
    {"step": 2, "train_loss": 1.9, "valid_loss": 2.1, "train_mean_token_accuracy": 0.52},
    {"step": 4, "train_loss": 1.2, "valid_loss": 1.5, "full_valid_loss": 1.45},
]


class FakeOpenAI:
    def __init__(
        self,
        statuses: list[str],
        *,
        trained_tokens: int = 4200,
        error: dict[str, Any] | None = None,
        fail_gets: int = 0,
        on_poll: Callable[[int], None] | None = None,
    ) -> None:
        self.statuses = statuses
        self.trained_tokens = trained_tokens
        self.error = error
        self.fail_gets = fail_gets  # the first N job GETs answer 500
        self.on_poll = on_poll  # called with the poll count, in the server's thread
        self.requests: list[tuple[str, str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls = 0
        self.cancelled: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _ in self.requests if method in (None, m)]

    # -------------------------------------------------------------- API objects

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        status = job["status"]
        done = status == "succeeded"
        return {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": job["created_at"],
            "model": job["model"],
            "organization_id": "org-test",
            "status": status,
            "training_file": job["training_file"],
            "validation_file": job.get("validation_file"),
            "hyperparameters": job["hyperparameters"],
            "method": job["method"],
            "result_files": ["file-results"] if done else [],
            "seed": job.get("seed") or 42,
            "fine_tuned_model": f"ft:{job['model']}:org-test:{job['suffix']}:abc123"
            if done
            else None,
            "trained_tokens": self.trained_tokens if done else None,
            "finished_at": job["created_at"] + 60 if status in ("succeeded", "failed") else None,
            "error": self.error if status == "failed" else None,
        }

    def _events(self, job_id: str) -> list[dict[str, Any]]:
        """Newest first, as the API lists them: status messages and per-step metrics."""
        created = self.jobs[job_id]["created_at"]
        events = [
            {"message": "Validating training file", "type": "message", "data": {}},
            {"message": "Fine-tuning job started", "type": "message", "data": {}},
        ]
        events += [
            {
                "message": f"Step {s}/4: training loss={2.5 - 0.3 * s:.2f}",
                "type": "metrics",
                "data": {"step": s, "train_loss": 2.5 - 0.3 * s, "total_steps": 4},
            }
            for s in range(1, 5)
        ]
        out = [
            {
                "id": f"ftevent-{i}",
                "object": "fine_tuning.job.event",
                "created_at": created + i,
                "level": "info",
                **event,
            }
            for i, event in enumerate(events)
        ]
        return out[::-1]

    def _checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        model = self.jobs[job_id]["model"]
        return [
            {
                "id": f"ftckpt-{m['step']}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": 1_700_000_000 + m["step"],
                "fine_tuned_model_checkpoint": f"ft:{model}:org-test::ckpt-step-{m['step']}",
                "fine_tuning_job_id": job_id,
                "metrics": m,
                "step_number": m["step"],
            }
            for m in CHECKPOINT_METRICS
        ][::-1]

    # -------------------------------------------------------------- routing

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")  # v1 fine_tuning jobs {id} [events|checkpoints]
        if (
            parts[:3] != ["v1", "fine_tuning", "jobs"]
            or len(parts) < 4
            or parts[3] not in self.jobs
        ):
            return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
        job_id = parts[3]
        if len(parts) == 4:
            if self.fail_gets > 0:
                self.fail_gets -= 1
                return 500, {"error": {"message": "upstream hiccup", "type": "server_error"}}
            job = self.jobs[job_id]
            self.polls += 1
            if self.on_poll is not None:
                self.on_poll(self.polls)
            if job["status"] != "cancelled":
                job["status"] = self.statuses[min(job["step"], len(self.statuses) - 1)]
                job["step"] += 1
            return 200, self._job(job_id)
        items = self._events(job_id) if parts[4] == "events" else self._checkpoints(job_id)
        limit = int(query.get("limit", ["20"])[0])
        if "after" in query:
            ids = [item["id"] for item in items]
            items = items[ids.index(query["after"][0]) + 1 :]
        return 200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit}

    def _post(self, path: str, body: Any) -> tuple[int, Any]:
        if path == "/v1/files":
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = body
            return 200, {
                "id": file_id,
                "object": "file",
                "bytes": len(body["file"]),
                "created_at": 1_700_000_000,
                "filename": body["filename"],
                "purpose": body["purpose"],
                "status": "processed",
            }
        if path == "/v1/fine_tuning/jobs":
            job_id = f"ftjob-{len(self.jobs) + 1}"
            hp = body.get("method", {}).get("supervised", {}).get("hyperparameters", {})
            self.jobs[job_id] = {
                **body,
                "status": "validating_files",
                "step": 0,
                "created_at": 1_700_000_000,
                "hyperparameters": hp,
                "method": body.get("method"),
                "suffix": body.get("suffix") or "",
            }
            return 200, self._job(job_id)
        if path.startswith("/v1/fine_tuning/jobs/") and path.endswith("/cancel"):
            job_id = path.split("/")[4]
            self.cancelled.append(job_id)
            self.jobs[job_id]["status"] = "cancelled"
            return 200, self._job(job_id)
        if path == "/v1/chat/completions":
            user = next(m["content"] for m in body["messages"] if m["role"] == "user")
            return 200, {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"{body['model']} | {user}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
            }
        return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output quiet
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                with api._lock:
                    api.requests.append(("GET", url.path, parse_qs(url.query)))
                    status, payload = api._get(url.path, parse_qs(url.query))
                self._reply(status, payload)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("multipart/form-data"):
                    body = _multipart(content_type, raw)
                else:
                    body = json.loads(raw or b"{}")
                body_auth = {**body, "_auth": self.headers.get("Authorization")}
                with api._lock:
                    api.requests.append(("POST", self.path, body_auth))
                    status, payload = api._post(self.path, body)
                self._reply(status, payload)

        return Handler


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """Form fields as text, the file as bytes (`file`) with its `filename`."""
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            fields["filename"] = part.get_filename()
            fields[name] = payload
        else:
            fields[name] = payload.decode()
    return fields
