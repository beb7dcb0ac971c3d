"""Retries while TorchServe's worker dies or restarts; never for the client's own errors or for timeouts."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import numpy as np
import pytest
import respx

from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, MANAGEMENT, make_client
from tests.images import image_bytes

MASK = encode_png(np.full((77, 101), 3, np.uint8))
OK = httpx.Response(200, content=MASK, headers={"content-type": "image/png", "X-Model-Version": "2.0"})
WORKER_DIED = httpx.Response(500, json={"code": 500, "type": "InternalServerException", "message": "Worker died."})
NO_WORKER = httpx.Response(503, json={"message": "Model roadseg has no worker to serve inference request."})


def post(client):
    return client.post("/predict", files={"file": ("x.png", image_bytes("png-rgb"))})


@pytest.mark.parametrize(
    "failures",
    [[WORKER_DIED], [NO_WORKER, NO_WORKER], [httpx.ConnectError("refused")], [httpx.RemoteProtocolError("reset")]],
    ids=["worker died", "worker restarting", "connection refused", "connection reset"],
)
@respx.mock
def test_a_dying_or_restarting_worker_is_retried_until_the_answer_comes(failures, caplog):
    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=[*failures, OK])
    with caplog.at_level(logging.WARNING, logger="gateway.retry"), make_client() as client:
        response = post(client)
    assert response.status_code == 200 and response.content == MASK
    assert route.call_count == len(failures) + 1
    assert sum("retry" in r.getMessage() for r in caplog.records) == len(failures)


@respx.mock
def test_retries_stop_after_the_configured_number_and_the_answer_says_when_to_come_back():
    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=httpx.ConnectError("refused"))
    with make_client(retries=2) as client:
        response = post(client)
    assert route.call_count == 3
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"] == "model_server_unavailable"


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (httpx.Response(400, json={"code": 400, "type": "InvalidImage", "message": "truncated"}), 400),
        (httpx.Response(404, json={"message": "Model not found"}), 404),
        (httpx.Response(413, json={"message": "too large"}), 502),
        (httpx.ReadTimeout("slow"), 504),
    ],
    ids=["400", "404", "413", "timeout"],
)
@respx.mock
def test_the_client_s_errors_and_timeouts_are_not_retried(answer, status):
    mock = {"side_effect": answer} if isinstance(answer, Exception) else {"return_value": answer}
    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(**mock)
    respx.get(f"{MANAGEMENT}/models/roadseg")
    with make_client() as client:
        assert post(client).status_code == status
    assert route.call_count == 1


@respx.mock
def test_retries_stay_within_the_request_timeout():
    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(return_value=WORKER_DIED)
    with make_client(retries=10, retry_backoff_s=0.4, inference_timeout_s=1.0) as client:
        response = post(client)
    assert response.status_code == 502 and "Worker died" in response.json()["message"]
    assert route.call_count == 2  # 0.4 s, then 0.8 s would pass the 1 s budget: no third attempt


def described(pid: int, status: str = "READY") -> httpx.Response:
    worker = {"id": "9000", "startTime": "2026-11-29T16:05:45.207Z", "status": status, "pid": pid}
    return httpx.Response(200, json=[{"modelName": "roadseg", "modelVersion": "2.0", "workers": [worker]}])


@pytest.mark.parametrize(
    ("looks", "dropped"),
    [
        ([described(11), described(12)], True),  # a new worker process since the first look
        ([described(11, "UNLOADING"), described(12)], True),  # restarting, then ready again
        ([described(11)], False),  # the same worker, only slow
    ],
    ids=["new worker process", "worker restarting", "same worker"],
)
@respx.mock
def test_a_request_a_restarted_worker_dropped_is_sent_again_and_a_slow_one_is_waited_for(looks, dropped, caplog):
    """TorchServe 0.12 drops the jobs a dying worker had taken for its next batch: no answer ever comes. Once the
    worker is back and the request still has no answer, it is sent again."""
    answers, sent = iter([None, OK]), []

    async def model(request):
        sent.append(request)  # respx counts a call once answered; the dropped one never is
        if next(answers) is None:  # the first request: never answered if dropped, late if the model is only slow
            await asyncio.sleep(30 if dropped else 0.5)
        return OK

    respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=model)
    respx.get(f"{MANAGEMENT}/models/roadseg").mock(side_effect=[*looks, *[looks[-1]] * 20])
    with caplog.at_level(logging.WARNING, logger="gateway.retry"), make_client(lost_request_check_s=0.1) as client:
        started = time.monotonic()
        response = post(client)
    assert response.status_code == 200 and response.content == MASK
    assert len(sent) == (2 if dropped else 1)
    assert time.monotonic() - started < 5
    assert ("restarted the worker holding the request" in caplog.text) is dropped
