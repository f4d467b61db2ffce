"""The model server: the registered model behind an OpenAI-compatible API (FastAPI + uvicorn).

    health-training serve --host 127.0.0.1 --port 8000                    # in-process, CPU
    health-training serve --backend upstream --upstream-url http://gpu:8001/v1   # vLLM / LoRAX

`pool.py` keeps production and staging adapters on one base and swaps them when an alias moves;
`engine.py` batches concurrent requests on the in-process model, `upstream.py` forwards them to an
OpenAI-compatible inference server. The routes (`routes_*.py`) add auth (`auth.py`), the number
guard (`guard.py`, with the grounding modes of `grounding_modes.py` and the constrained decoding
of `number_mask.py`; docs/grounding.md), the response cache (`cache.py`), feedback (`responses.py` ties a response id
to its version, prompt and answer) and Prometheus metrics (`metrics.py`). `app.create_app` wires
them; `server.run_server` builds them from the environment and runs uvicorn.
"""
