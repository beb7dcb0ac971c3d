"""Breaking the stack on purpose (loopback, bounded): the model worker killed under load, TorchServe stopped
and started again. This module gets its own TorchServe and gateway (its `stack` fixture), not the package's."""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import re
import signal
import threading
import time
import zipfile
from collections.abc import Iterator

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image

from stack.processes import free_port, gateway_env, start_gateway, stop, wait_for
from tests.images import image_bytes
from tests.integration.conftest import V1_CATEGORY, Stack, running_stack
from tests.videos import write_clip

pytestmark = pytest.mark.integration
IMAGE = image_bytes("png-rgb", 64, 48)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory)


def worker_pid(stack, version: str) -> int:
    """The pid of TorchServe's Python worker serving `version` (its socket name carries the port in the log)."""
    log = (stack.workdir / "logs" / "model_log.log").read_text()
    port = re.findall(rf"W-(\d+)-roadseg_{re.escape(version)}", log)[-1]
    for process in psutil.Process(stack.torchserve.pid).children(recursive=True):
        if any(part.endswith(f".ts.sock.{port}") for part in process.cmdline()):
            return process.pid
    raise AssertionError(f"no worker process for version {version} (port {port})")


def categories(response) -> list[int]:
    return np.unique(np.asarray(Image.open(io.BytesIO(response.content)))).tolist()


def test_killing_the_model_worker_under_load_loses_no_request(stack):
    with stack.client() as client:
        assert client.post("/predict?version=1.0", files={"file": ("x.png", IMAGE)}).status_code == 200
    victim = worker_pid(stack, "1.0")

    def send(count: int) -> list[tuple[int, list[int]]]:
        with stack.client() as client:
            answers = []
            for _ in range(count):
                response = client.post("/predict?version=1.0", files={"file": ("x.png", IMAGE)})
                answers.append((response.status_code, categories(response) if response.status_code == 200 else []))
            return answers

    with cf.ThreadPoolExecutor(4) as pool:
        clients = [pool.submit(send, 12) for _ in range(4)]
        time.sleep(0.3)  # requests are in flight
        os.kill(victim, signal.SIGKILL)
        answers = [answer for future in clients for answer in future.result(timeout=120)]
    assert len(answers) == 48 and all(answer == (200, [V1_CATEGORY]) for answer in answers), answers
    assert worker_pid(stack, "1.0") != victim  # a new worker answered the rest
    log = (stack.workdir.parent / "gateway.log").read_text()
    assert "retry 1 of" in log  # the requests the dead worker held were retried, and logged


def test_a_video_job_survives_the_model_worker_being_killed_mid_clip(stack, tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4", frames=40, width=320, height=240, fps=10)
    with stack.client() as client:
        assert client.post("/predict?version=1.0", files={"file": ("x.png", IMAGE)}).status_code == 200
        victim = worker_pid(stack, "1.0")
        status_url = client.post(
            "/videos?version=1.0&masks=true", files={"file": ("dashcam.mp4", clip.read_bytes())}
        ).headers["location"]
        deadline = time.monotonic() + 60
        while client.get(status_url).json()["frames_done"] < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)  # frames are at the worker or queued for it
        killed_at = client.get(status_url).json()["frames_done"]
        while (job := client.get(status_url).json())["status"] not in (
            "done",
            "failed",
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
        masks = client.get(job["masks_url"]) if job["status"] == "done" else None
    gateway_log = (stack.workdir.parent / "gateway.log").read_text()
    assert job["status"] == "done", (job["error"], job["frames_done"], gateway_log[-3000:])
    assert 5 <= killed_at < 40 and job["frames_done"] == 40  # killed mid-clip, every frame still came back
    assert worker_pid(stack, "1.0") != victim
    with zipfile.ZipFile(io.BytesIO(masks.content)) as archive:
        assert len(archive.namelist()) == 40
        assert {categories_of(archive.read(name)) for name in archive.namelist()} == {(V1_CATEGORY,)}


def categories_of(png: bytes) -> tuple[int, ...]:
    return tuple(np.unique(np.asarray(Image.open(io.BytesIO(png)))).tolist())


def test_a_gateway_at_capacity_refuses_the_surplus_at_once_and_serves_the_admitted(stack, tmp_path):
    """A second real gateway in front of the same TorchServe, with room for one request and one waiting."""
    port = free_port()
    env = {**gateway_env(stack.ports, stack.workdir), "GATEWAY_MAX_IN_FLIGHT": "1", "GATEWAY_MAX_QUEUED": "1"}
    gateway = start_gateway(port, env, tmp_path / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    large = image_bytes("png-rgb", 2400, 1800)  # long enough in the handler for the others to arrive meanwhile
    try:
        wait_for(f"{url}/health", 120, gateway)
        barrier = threading.Barrier(6)

        def send(_):
            with httpx.Client(base_url=url, timeout=120) as client:
                barrier.wait()
                started = time.monotonic()
                response = client.post("/predict?version=1.0", files={"file": ("x.png", large)})
                return response, time.monotonic() - started

        with cf.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(send, range(6)))
    finally:
        stop(gateway)
    served = [seconds for response, seconds in answers if response.status_code == 200]
    refused = [(response, seconds) for response, seconds in answers if response.status_code != 200]
    assert len(served) == 2, [r.status_code for r, _ in answers]
    for response, seconds in refused:
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["error"] == "busy" and seconds < min(served)  # at once, before any answer


def test_torchserve_stopped_then_started_again_without_restarting_the_gateway(stack):
    with stack.client() as client:
        stop(stack.torchserve)
        started = time.monotonic()
        response = client.post("/predict", files={"file": ("x.png", IMAGE)})
        assert time.monotonic() - started < stack.settings.inference_timeout_s  # no hang
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["error"] == "model_server_unavailable"
        stack.start_torchserve_again()  # new keys in the key file: the gateway re-reads them
        wait_for(f"{stack.url}/health", 300, stack.gateway)
        response = client.post("/predict", files={"file": ("x.png", IMAGE)})
        assert response.status_code == 200 and categories(response) == [V1_CATEGORY]
