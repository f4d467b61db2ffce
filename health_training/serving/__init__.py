"""The model server: the registered model behind an OpenAI-compatible API (FastAPI + uvicorn).

    health-training serve --host 127.0.0.1 --port 8000                    # in-process, CPU
    health-training serve --backend upstream --upstream-url http://gpu:8001/v1   # vLLM / LoRAX

`backends/`: `adapter_pool.py` keeps production and staging adapters on one base and swaps them
when an alias moves; `inprocess.py` batches concurrent requests on the in-process model,
`upstream.py` forwards them to an OpenAI-compatible inference server. `http/`: the routes
(`routes_*.py`), auth (`auth.py`, `keys.py`), quotas, request and response bodies, OpenAI-style
errors, Prometheus metrics (`prometheus.py`), traces and the audit log. Here: `answering.py` (one
request's flow), the number guard (`number_guard.py`, with the grounding modes of
`grounding_modes.py` and the constrained decoding of `backends/number_mask.py`;
docs/grounding.md), the response cache (`response_cache.py`), `response_log.py` (ties a response
id to its version, prompt and answer, for feedback) and `dagster_runs.py` (the admin API's runs).
`http.app.create_app` wires them; `server.run_server` builds them from the environment and runs
uvicorn.
"""
