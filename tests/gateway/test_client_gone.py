"""A client that leaves while its prediction waits for a slot costs the model server nothing."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import numpy as np
import pytest
import respx
import uvicorn

from gateway.config import Settings
from gateway.main import create_app
from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, MANAGEMENT
from tests.images import image_bytes

MASK = encode_png(np.full((77, 101), 2, np.uint8))


def multipart_request(port: int, data: bytes) -> bytes:
    boundary = "roadsegboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("client_leaves", [True, False], ids=["client leaves", "client waits"])
@respx.mock
def test_a_request_whose_client_left_while_queued_is_never_sent_to_the_model_server(client_leaves):
    """uvicorn reports the disconnect to the queued request, whose upload then never parses: nothing is sent.
    The same request from a client that waits is served."""

    async def slow_model(request):
        await asyncio.sleep(1.0)
        return httpx.Response(200, content=MASK, headers={"content-type": "image/png", "X-Model-Version": "2.0"})

    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=slow_model)
    respx.route(host="127.0.0.1").pass_through()  # the test's own requests reach the real server
    settings = Settings(
        torchserve_inference_url=INFERENCE,
        torchserve_management_url=MANAGEMENT,
        max_in_flight=1,
        max_queued=4,
        lost_request_check_s=30,  # the slow model is only slow: no look at its workers
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        data = image_bytes("png-rgb")
        first: dict[str, httpx.Response] = {}
        holder = threading.Thread(
            target=lambda: first.update(
                answer=httpx.post(f"http://127.0.0.1:{port}/predict", files={"file": ("x.png", data)}, timeout=10)
            )
        )
        holder.start()  # takes the only slot for a second
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port)) as queued:  # queued behind it
            queued.sendall(multipart_request(port, data))
            time.sleep(0.3)
            if not client_leaves:
                queued.settimeout(10)
                assert queued.recv(64).startswith(b"HTTP/1.1 200")
        holder.join(10)
        time.sleep(0.3)  # the slot is free: the queued request is taken up (and dropped)
        after = httpx.post(f"http://127.0.0.1:{port}/predict", files={"file": ("x.png", data)}, timeout=10)
    finally:
        server.should_exit = True
        thread.join(10)
    assert first["answer"].status_code == 200 and after.status_code == 200
    # The first and the last request, and the queued one only if its client stayed.
    assert route.call_count == (2 if client_leaves else 3)
