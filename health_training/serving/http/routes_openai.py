"""The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/completions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from health_training.serving.backends.generation import Prompt
from health_training.serving.http.auth import Caller
from health_training.serving.http.request_bodies import ChatCompletionRequest, CompletionRequest

router = APIRouter()


def services(request: Request) -> Any:
    return request.app.state.services


def needs(scope: str) -> Any:
    """A dependency: the caller, when its key has `scope` (else a 401/403)."""

    def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
        return services(request).keys.check(authorization, scope)

    return Depends(caller)


QueryCaller = Annotated[Caller, needs("generate")]
FeedbackCaller = Annotated[Caller, needs("feedback")]
StatsCaller = Annotated[Caller, needs("read_stats")]
AdminCaller = Annotated[Caller, needs("admin")]


@router.get("/v1/models")
async def list_models(request: Request, caller: QueryCaller) -> dict[str, Any]:
    svc = services(request)
    pool, name = svc.pool, svc.settings.model_name
    default = pool.default()
    aliases = pool.aliases()
    base = pool.base()

    def entry(model_id: str, served: Any, alias: str | None) -> dict[str, Any]:
        return {
            "id": model_id,
            "object": "model",
            "created": 0,
            "owned_by": "health_training",
            "version": served.label if served else None,
            "alias": alias,
            "base_model": served.base_model if served else None,
        }

    data = [entry(name, default.served if default else None, default.alias if default else None)]
    data += [entry(f"{name}@{a}", s, a) for a, s in aliases.items()]
    data.append(entry(f"{name}@base", base, "base"))
    data += [entry(s.model_id(name), s, None) for s in pool.loaded()]
    return {"object": "list", "data": data}


@router.post("/v1/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, caller: QueryCaller
) -> Any:
    prompt = Prompt(messages=tuple((m.role, m.text()) for m in body.messages))
    return await services(request).answerer.respond(caller, body, prompt, request)


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request, caller: QueryCaller) -> Any:
    prompt = Prompt(text=body.prompt_text())
    return await services(request).answerer.respond(caller, body, prompt, request)
