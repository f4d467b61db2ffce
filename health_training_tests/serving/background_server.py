"""The server in a background thread of this process, on a free loopback port: for tests and
bench/serve_load.py, which call it over real HTTP like any client.

    with BackgroundServer(app) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="...")
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any


class BackgroundServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", start_timeout_s: float = 300.0) -> None:
        import uvicorn

        # As `serve` does: requests in flight get the drain time, then they are cancelled, so a
        # hung request cannot hold the exit forever.
        settings = getattr(getattr(app, "state", None), "services", None)
        drain = getattr(getattr(settings, "settings", None), "shutdown_drain_s", 30.0)
        config = uvicorn.Config(
            app, host=host, port=0, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=max(1, math.ceil(drain)),
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.host, self.start_timeout_s = host, start_timeout_s
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        # uvicorn sets `started` after the lifespan (the model load) and the bind succeed; a
        # failed startup ends the thread instead.
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server failed to start (see its log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {self.start_timeout_s:g}s")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=60)
