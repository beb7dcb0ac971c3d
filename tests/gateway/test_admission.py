"""Backpressure: beyond the admitted requests, a prompt 503 with Retry-After; the admitted ones succeed."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import time

import httpx
import numpy as np
import respx

from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, make_client
from tests.images import image_bytes

MASK = encode_png(np.full((77, 101), 2, np.uint8))


@respx.mock
def test_requests_beyond_in_flight_plus_queue_are_refused_at_once_and_the_rest_succeed():
    async def slow_model(request):
        await asyncio.sleep(0.5)
        return httpx.Response(200, content=MASK, headers={"content-type": "image/png", "X-Model-Version": "2.0"})

    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=slow_model)
    data = image_bytes("png-rgb")
    with make_client(max_in_flight=1, max_queued=1) as client, cf.ThreadPoolExecutor(5) as pool:

        def post(_):
            started = time.monotonic()
            response = client.post("/predict", files={"file": ("x.png", data)})
            return response, time.monotonic() - started

        answers = list(pool.map(post, range(5)))
        assert client.get("/categories").status_code == 200  # other endpoints are not rationed
        again, _ = post(None)  # once the admitted ones are done, the gateway admits again
    statuses = sorted(r.status_code for r, _ in answers)
    assert statuses == [200, 200, 503, 503, 503]
    for response, seconds in answers:
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1" and response.json()["error"] == "busy"
            assert seconds < 0.4  # at once, not after waiting for the model
        else:
            assert response.content == MASK
    assert again.status_code == 200 and route.call_count == 3
