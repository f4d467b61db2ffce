"""Post ratings to a model server's `POST /v1/feedback`: the path people's ratings take too.

    client = FeedbackClient("http://127.0.0.1:8000", api_key="...")
    client.post(response_id, rating=1, corrected_answer="Your resting heart rate was 58 bpm.")
    rate_served(client, SimulatedClinic(), served)      # the simulated clinic, answer by answer

The body is `{"response_id", "rating", "corrected_answer"?, "user"?}` (health_training.serving's
FeedbackRequest; `user` is the row's user id: the person the simulated clinic rates for, which a
server counts as a rater of its own only for a key an admin trusted); the server ties the id to the model version, prompt and answer and stores the
rating through the feedback store. Errors come back as
`FeedbackPostError` with the server's status and message (OpenAI-style `{"error": {"message"}}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from health_training.ml.preference.simulated_clinic import ClinicRating, SimulatedClinic

FEEDBACK_PATH = "/v1/feedback"


class FeedbackPostError(RuntimeError):
    """The server refused a rating; `status` is the HTTP status, the message the server's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"POST {FEEDBACK_PATH} answered {status}: {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class ServedAnswer:
    """An answer a server gave (its response id and text) to a dataset row it was asked about."""

    response_id: str
    answer: str
    row: Mapping[str, Any]  # instruction, input, output and the source facts


class FeedbackClient:
    """A small HTTP client (httpx) for one server; use as a context manager or call close()."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        transport: Any = None,
    ) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def __enter__(self) -> FeedbackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def post(
        self,
        response_id: str,
        rating: int,
        corrected_answer: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Rate one served answer; the server's JSON reply."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValueError(f"rating must be a whole number 1-5, got {rating!r}")
        body: dict[str, Any] = {"response_id": response_id, "rating": rating}
        if corrected_answer is not None:
            body["corrected_answer"] = corrected_answer
        if user:
            body["user"] = user
        reply = self._http.post(FEEDBACK_PATH, json=body)
        if reply.status_code >= 400:
            raise FeedbackPostError(reply.status_code, _error_message(reply))
        return reply.json() if reply.content else {}


def _error_message(reply: Any) -> str:
    try:
        doc = reply.json()
    except ValueError:
        return reply.text[:200]
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(doc.get("detail", doc) if isinstance(doc, dict) else doc)[:200]


def rate_served(
    client: FeedbackClient, clinic: SimulatedClinic, served: Iterable[ServedAnswer]
) -> list[ClinicRating]:
    """The clinic rates each served answer and posts the rating; the ratings in order."""
    out = []
    for item in served:
        rating = clinic.rate_row(item.row, item.answer)
        user = item.row.get("user_id")
        client.post(item.response_id, rating.rating, rating.corrected_response,
                    str(user) if user else None)  # fmt: skip
        out.append(rating)
    return out
