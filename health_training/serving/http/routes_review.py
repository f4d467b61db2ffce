"""The review queue and trust levels over the admin API (the admin key only); the CLI's
`health-training review` does the same on the store directly (commands/review.py).

    GET  /admin/review?status=pending&limit=50     corrections waiting (scrubbed text)
    POST /admin/review/{id}/approve  {"reason": "...", "accept_unsupported_numbers": false}
    POST /admin/review/{id}/reject   {"reason": "..."}
    GET  /admin/trust                              key id -> trust level
    POST /admin/trust/{key_id}       {"level": 1, "reason": "..."}

Who decided is the admin key's id; when and why are stored with the row and in the audit line.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.audit import audit
from health_training.serving.http.request_bodies import ReviewDecision, TrustRequest
from health_training.serving.http.routes_admin import who
from health_training.serving.http.routes_openai import AdminCaller, services

router = APIRouter(prefix="/admin")
KeyId = Annotated[str, Path(pattern=r"^k_[0-9a-f]{16}$")]


def _queue(request: Request) -> Any:
    from health_training.stores.review_queue import ReviewQueue

    return ReviewQueue(services(request).feedback_store)


def _item(row: Any) -> dict[str, Any]:
    doc = asdict(row)
    doc["created_at"] = row.created_at.isoformat()
    doc["reviewed_at"] = row.reviewed_at.isoformat() if row.reviewed_at else None
    doc["unsupported_numbers"] = [n for n in (row.unsupported_numbers or "").split(",") if n]
    doc.pop("user_pseudonym", None)  # not needed to judge a correction
    return doc


@router.get("/review")
async def list_reviews(
    request: Request,
    caller: AdminCaller,
    status: Literal["pending", "approved", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after_id: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    queue = _queue(request)
    rows = await asyncio.to_thread(queue.list, status, limit, after_id)
    counts = await asyncio.to_thread(queue.counts)
    return {"status": status, "counts": counts, "items": [_item(r) for r in rows]}


async def _decide(
    request: Request, caller: Any, feedback_id: int, body: ReviewDecision, approve: bool
) -> dict[str, Any]:
    from health_training.stores.review_queue import ReviewError

    by = who(None, caller)

    def run() -> Any:
        return _queue(request).decide(
            feedback_id,
            approve=approve,
            by=by,
            reason=body.reason,
            accept_unsupported_numbers=body.accept_unsupported_numbers,
        )

    try:
        row = await asyncio.to_thread(run)
    except ReviewError as exc:
        status = {"not_found": 404, "unsupported_numbers": 422}.get(exc.code, 409)
        raise OpenAIError(status, str(exc), code=exc.code) from None
    action = "review_approve" if approve else "review_reject"
    audit(request, caller, action, f"feedback {feedback_id}", review_status=row.review_status,
          reason=body.reason, unsupported_numbers=row.unsupported_numbers or None)  # fmt: skip
    return _item(row)


@router.post("/review/{feedback_id}/approve")
async def approve(
    feedback_id: int, body: ReviewDecision, request: Request, caller: AdminCaller
) -> dict[str, Any]:
    return await _decide(request, caller, feedback_id, body, approve=True)


@router.post("/review/{feedback_id}/reject")
async def reject(
    feedback_id: int, body: ReviewDecision, request: Request, caller: AdminCaller
) -> dict[str, Any]:
    return await _decide(request, caller, feedback_id, body, approve=False)


@router.get("/trust")
async def trust_levels(request: Request, caller: AdminCaller) -> dict[str, Any]:
    return {"levels": await asyncio.to_thread(_queue(request).trust_levels)}


@router.post("/trust/{key_id}")
async def set_trust(
    key_id: KeyId, body: TrustRequest, request: Request, caller: AdminCaller
) -> dict[str, Any]:
    queue = _queue(request)
    before = (await asyncio.to_thread(queue.trust_levels)).get(key_id)
    by = who(None, caller)
    row = await asyncio.to_thread(lambda: queue.set_trust(key_id, body.level, by=by,
                                                          reason=body.reason))  # fmt: skip
    audit(request, caller, "set_trust", f"key {key_id}", level=[before, body.level],
          reason=body.reason)  # fmt: skip
    return {"key_id": key_id, "level": row["level"], "set_by": by, "reason": body.reason}
