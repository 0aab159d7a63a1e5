"""Serve the simulator on a real loopback socket in a background thread.

The sync connector talks through a plain ``httpx.Client``, which cannot be pointed at an ASGI app
in-process, so tests need a real server. Binding the socket ourselves (port 0) gives a free port
with no race between choosing it and listening on it.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette

from seller_health.simulator.app import Simulator, create_app
from seller_health.simulator.config import SimulatorConfig


class RunningServer:
    """The ``stop`` half of ``run_in_thread``: call it to stop; ``.simulator`` is the truth."""

    def __init__(
        self, app: Starlette, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket
    ) -> None:
        self.app = app
        self.simulator: Simulator = app.state.simulator
        self._server = server
        self._thread = thread
        self._socket = sock

    def __call__(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def serve_app_in_thread(
    app: Starlette, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, RunningServer]:
    """Serve an existing app (built with ``create_app``) and wait until it accepts requests."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sp-api-simulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator server did not start")
        time.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    return f"http://{bound_host}:{bound_port}", RunningServer(app, server, thread, sock)


def run_in_thread(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, RunningServer]:
    """Serve ``create_app(config)``; returns the base URL and a ``stop`` callable.

    ``stop.simulator`` gives the ground truth (``stop.simulator.orders_for(refresh_token)``).
    """
    return serve_app_in_thread(create_app(config), host, port)
