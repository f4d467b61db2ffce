"""`POST /v1/feedback`: a rating (1-5, optional corrected answer) of an answer this server gave,
named by its response id. The record is built from what the id ties to (model version, the
question, its context, the answer) and stored through the feedback store, whose writes scrub
PHI and pseudonymize the user; the feedback sensor reads it on its next tick.

Only the key that received an answer may rate it (any other key gets the same 404 as an unknown
id). The row records the key id and its tenant; the user pseudonym is derived by the server from
the tenant and the caller's `user` hint (or the key), so one tenant can never name another's
users. A correction's numbers are checked by the number guard against the question and its
context, and the correction waits in the review queue (an admin approves it) before it can train.

`created_at` is when the answer was given: posting the same rating of the same answer twice
(a client retry) stores it once, while two answers rated alike stay two rows.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from health_training.data.feedback import FeedbackError, validate_feedback
from health_training.data.phi import NerModelError, PhiInputError
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.request_bodies import FeedbackRequest
from health_training.serving.http.routes_openai import FeedbackCaller, services
from health_training.serving.number_guard import check_numbers

router = APIRouter()
log = logging.getLogger("health_training.serving")


@router.post("/v1/feedback")
async def post_feedback(body: FeedbackRequest, request: Request, caller: FeedbackCaller) -> Any:
    svc = services(request)
    svc.quotas.admit("feedback", caller.key_id)
    answered = svc.responses.get(body.response_id)
    if answered is None or answered.key_id != caller.key_id:
        raise OpenAIError(
            404,
            f"unknown response id '{body.response_id}': ratings are taken for answers this "
            "server gave recently (ids are kept in memory, bounded by count and age)",
            "not_found_error",
            param="response_id",
            code="response_not_found",
        )
    try:
        record = validate_feedback(
            {
                "query": answered.question,
                # An empty answer is still an answer to rate; the store needs non-empty text.
                "response": answered.answer if answered.answer.strip() else "(empty answer)",
                "rating": body.rating,
                "model_version": answered.model_version,
                # The pseudonym's input: the tenant always, then the hint or the key.
                "user_id": f"tenant:{caller.tenant}/"
                + (f"user:{body.user}" if body.user else f"key:{caller.key_id}"),
                "corrected_response": body.corrected_answer,
                "context": answered.context,
                "created_at": answered.answered_at.isoformat(),
            }
        )
    except FeedbackError as exc:
        raise OpenAIError(400, exc.detail, param=_param(exc), code=exc.reason) from None
    unsupported = None
    if record.corrected_response is not None:
        source = f"{answered.question}\n\n{answered.context}"
        unsupported = check_numbers(record.corrected_response, source).unsupported
    record = replace(
        record, key_id=caller.key_id, tenant=caller.tenant, unsupported_numbers=unsupported
    )
    try:
        feedback_id = await asyncio.to_thread(svc.feedback_store.add, record, svc.pseudonymize)
    except PhiInputError as exc:  # e.g. over the scrubber's size limit
        raise OpenAIError(400, f"the rating cannot be stored: {exc}", code=exc.reason) from None
    except NerModelError as exc:  # stored unscrubbed never: refused until the engine works
        log.error("PHI engine unavailable: %s", exc)
        raise OpenAIError(
            503, "the PHI engine is unavailable; retry later", "server_error", code="phi_engine"
        ) from None
    except SQLAlchemyError as exc:  # the database is down: a 503 tells the client to retry
        log.error("feedback store write failed: %s", type(exc).__name__)
        raise OpenAIError(
            503,
            f"the feedback store is unavailable ({type(exc).__name__}); retry later",
            "server_error",
            code="feedback_store_unavailable",
        ) from None
    svc.metrics.feedback.labels(rating=str(body.rating)).inc()
    log.info(
        "feedback %s for %s rating=%d version=%s caller=%s",
        feedback_id,
        body.response_id,
        body.rating,
        answered.model_version,
        caller.key_id,
    )
    doc = {
        "object": "feedback",
        "id": feedback_id,
        "response_id": body.response_id,
        "model_version": answered.model_version,
        "rating": body.rating,
    }
    if unsupported is not None:
        doc["review"] = {"status": "pending", "unsupported_numbers": list(unsupported)}
    return doc


def _param(exc: FeedbackError) -> str | None:
    text = exc.detail
    if "corrected_response" in text:
        return "corrected_answer"
    return "user" if "user_id" in text else None
