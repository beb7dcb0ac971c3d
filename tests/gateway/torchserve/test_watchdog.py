"""The TorchServe 0.12 lost-request workaround: its switch, and what it keeps."""

import asyncio

import httpx
import pytest

from gateway.errors import GatewayError
from gateway.torchserve.watchdog import LostRequestWatchdog


def workers(pid: int, status: str = "READY") -> list[dict]:
    return [{"modelName": "roadseg", "modelVersion": "3.0", "workers": [{"pid": pid, "status": status}]}]


async def answer_after(seconds: float) -> httpx.Response:
    await asyncio.sleep(seconds)
    return httpx.Response(200)


def test_switched_off_it_only_waits_for_the_answer():
    looked = []

    async def describe(model, version):
        looked.append(model)
        return workers(1)

    watchdog = LostRequestWatchdog(describe, check_s=0)
    response = asyncio.run(watchdog.answer(answer_after(0.05), "roadseg", None))
    assert response.status_code == 200 and looked == [] and not watchdog.enabled


def test_a_restart_after_sending_gives_the_request_up_as_retryable():
    looks = iter([workers(1), workers(2)] + [workers(2)] * 50)

    async def describe(model, version):
        return next(looks)

    watchdog = LostRequestWatchdog(describe, check_s=0.02)
    with pytest.raises(GatewayError) as raised:
        asyncio.run(watchdog.answer(answer_after(30), "roadseg", None))
    assert raised.value.error == "model_server_lost_request" and raised.value.retryable


def test_it_forgets_the_workers_of_models_no_request_asked_for():
    async def describe(model, version):
        return workers(1)

    async def scenario(watchdog):
        await watchdog.look("roadseg", None)
        await watchdog.look("roadseg-rt", "1.0")
        assert set(watchdog.looks) == {"roadseg/", "roadseg-rt/1.0"}
        await asyncio.sleep(0.05)
        await watchdog.look("roadseg", None)  # a minute later (here 40 ms): only this one is still needed

    watchdog = LostRequestWatchdog(describe, check_s=0.01, forget_after_s=0.04)
    asyncio.run(scenario(watchdog))
    assert set(watchdog.looks) == {"roadseg/"}
