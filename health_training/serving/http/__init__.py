"""The HTTP side of the model server: the FastAPI app, auth and keys, quotas, request and
response bodies, the routes, OpenAI-style errors, Prometheus metrics, traces and the audit log."""
