"""Gateway tests: the app in-process (TestClient) against a mocked or a silent TorchServe."""

from __future__ import annotations

import socket
import threading

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.main import create_app

INFERENCE = "http://torchserve.test:8080"
MANAGEMENT = "http://torchserve.test:8081"


def make_client(**overrides) -> TestClient:
    values = {
        "torchserve_inference_url": INFERENCE,
        "torchserve_management_url": MANAGEMENT,
        "version_cache_s": 0,
        "retry_backoff_s": 0.01,
        **overrides,
    }
    settings = Settings(**values)
    return TestClient(create_app(settings))


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers: a TorchServe that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
