"""A real TorchServe (two versions of a tiny design model, and a tiny real-time model under its own name) and a real
gateway process, on loopback ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway import admin
from gateway.config import Settings
from handler.archive import ServingOptions
from roadseg.contract import REALTIME_MODEL_NAME
from stack.processes import (
    TorchServePorts,
    free_port,
    gateway_env,
    start_gateway,
    start_torchserve,
    stop,
    wait_for,
)
from tests.archives import build_constant_archive

V1_CATEGORY, V2_CATEGORY = 1, 5  # version 1.0 answers "flat" everywhere (PyTorch), 2.0 "sky" (ONNX Runtime)
RT_CATEGORY = 7  # the real-time model (a DDRNet-23-slim, ONNX Runtime) answers "vehicle"
STARTUP_MODELS = f"roadseg=roadseg_v1.mar,{REALTIME_MODEL_NAME}={REALTIME_MODEL_NAME}_v1.0.mar"
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 5_000_000
LIMITS = {"ROADSEG_MAX_PIXELS": str(MAX_PIXELS)}  # one knob, read by the gateway and the handler


@dataclass
class Stack:
    url: str
    torchserve: object
    gateway: object
    settings: Settings
    workdir: Path
    ports: TorchServePorts
    store: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def start_torchserve_again(self) -> None:
        """TorchServe as the fixture first started it (version 1.0), same folder and ports, new keys."""
        self.torchserve = start_torchserve(
            self.workdir,
            self.store,
            self.ports,
            models=STARTUP_MODELS,
            enable_model_api=True,
            extra_env=LIMITS,
        )


def running_stack(tmp_path_factory) -> Iterator[Stack]:
    """Build the archives, start TorchServe and the gateway, register version 2.0; stop both afterwards."""
    root = tmp_path_factory.mktemp("stack")
    store = root / "model_store"
    # A batch delay long enough for concurrent requests to share a batch (the batching test reads the log).
    options = ServingOptions(batch_size=4, max_batch_delay_ms=100)
    build_constant_archive(store, V1_CATEGORY, "1.0", "roadseg_v1.mar", options)
    build_constant_archive(store, V2_CATEGORY, "2.0", "roadseg_v2.mar", options, onnx=True)  # ONNX Runtime
    build_constant_archive(
        store,
        RT_CATEGORY,
        "1.0",
        f"{REALTIME_MODEL_NAME}_v1.0.mar",
        onnx=True,
        name=REALTIME_MODEL_NAME,
        model="ddrnet23_slim",
    )
    ports = TorchServePorts.free()
    workdir = root / "torchserve"
    # The operator's choice for this test: the model API is on so that admin can register version 2.0.
    torchserve = start_torchserve(workdir, store, ports, models=STARTUP_MODELS, enable_model_api=True, extra_env=LIMITS)
    settings = Settings(
        torchserve_inference_url=ports.url("inference"),
        torchserve_management_url=ports.url("management"),
        torchserve_key_file=workdir / "key_file.json",
    )
    gateway_port = free_port()
    env = {
        **gateway_env(ports, workdir),
        "GATEWAY_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        **LIMITS,
        "GATEWAY_VERSION_CACHE_S": "60",  # cached: X-Model-Version must still follow set-default
    }
    gateway = start_gateway(gateway_port, env, root / "gateway.log")
    url = f"http://127.0.0.1:{gateway_port}"
    running: Stack | None = None
    try:
        wait_for(f"{url}/health", 300, gateway)
        admin.main(["register", str(store / "roadseg_v2.mar")], settings)
        running = Stack(url, torchserve, gateway, settings, workdir, ports, store)
        yield running
    except BaseException:
        for log in (workdir / "torchserve.out", root / "gateway.log"):
            if log.exists():
                print(f"--- {log}\n{log.read_text()[-4000:]}")
        raise
    finally:
        stop(gateway)
        stop(running.torchserve if running else torchserve)


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """One stack for the modules that leave it serving as they found it (a start costs ~30 s of 2 cores);
    test_faults breaks it on purpose and starts its own."""
    yield from running_stack(tmp_path_factory)


def key_file(stack: Stack) -> dict:
    return json.loads((stack.workdir / "key_file.json").read_text())
