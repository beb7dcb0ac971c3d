"""Start, wait for and stop the services as child processes; used by `python -m stack` and the tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import httpx

from roadseg import contract

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Debian's Chromium (scripts/ensure_chromium.sh), which drives the app in the browser test and for the
# README's screenshot: headless, no sandbox (root in CI), none of its background calls to Google.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@dataclass(frozen=True)
class TorchServePorts:
    """TorchServe's loopback ports. TorchServe 0.12 always opens its two gRPC ports as well (it has no
    switch to turn them off), so a second instance beside `make run` needs all five moved."""

    inference: int = contract.TORCHSERVE_INFERENCE_PORT
    management: int = contract.TORCHSERVE_MANAGEMENT_PORT
    metrics: int = contract.TORCHSERVE_METRICS_PORT
    grpc_inference: int = contract.TORCHSERVE_GRPC_INFERENCE_PORT
    grpc_management: int = contract.TORCHSERVE_GRPC_MANAGEMENT_PORT

    def url(self, kind: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{getattr(self, kind)}"

    def named(self) -> dict[str, int]:
        """Service name -> port, for messages."""
        return {f"TorchServe {f.name.replace('_', ' ')}": getattr(self, f.name) for f in fields(self)}

    @classmethod
    def free(cls) -> TorchServePorts:
        """Five ports the system has just handed out as free (for tests and benchmarks)."""
        return cls(*(free_port() for _ in fields(cls)))


class PortTakenError(RuntimeError):
    """A port the stack needs is already bound; the message names it and its service."""


def ensure_ports_free(ports: dict[str, int], host: str = "127.0.0.1") -> None:
    """Raise PortTakenError naming the first of `ports` (service -> port) that something already listens on."""
    for service, port in ports.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: a closing socket is no owner
            try:
                s.bind((host, port))
            except OSError:
                raise PortTakenError(
                    f"port {port} ({service}) on {host} is already in use: is another `make run` (or TorchServe) "
                    "running? Stop it, or start this one on other ports (python -m stack --help)."
                ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_torchserve(
    workdir: Path,
    model_store: Path,
    ports: TorchServePorts = TorchServePorts(),
    models: str | None = None,
    config: Path = REPO_ROOT / "config.properties",
    log_config: Path = REPO_ROOT / "log4j2.xml",
    enable_model_api: bool = False,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """TorchServe in the foreground, in `workdir` (key_file.json and logs/ land there); `extra_env` reaches
    the handler (e.g. ROADSEG_MAX_PIXELS).

    Addresses and the models to load override config.properties through TS_* variables; a private
    TMPDIR keeps its pid file and worker sockets apart from any other TorchServe on the machine.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "TMPDIR": str(workdir / "tmp"),
        "JAVA_TOOL_OPTIONS": f"-Djava.io.tmpdir={workdir / 'tmp'}",
        "TS_INFERENCE_ADDRESS": ports.url("inference"),
        "TS_MANAGEMENT_ADDRESS": ports.url("management"),
        "TS_METRICS_ADDRESS": ports.url("metrics"),
        # Archives by URL only from this model store (a regex: the path's dots and such escaped).
        "TS_ALLOWED_URLS": "file://" + re.escape(str(model_store.resolve())) + "/.*",
        "TS_GRPC_INFERENCE_PORT": str(ports.grpc_inference),
        "TS_GRPC_MANAGEMENT_PORT": str(ports.grpc_management),
        "LOG_LOCATION": str(workdir / "logs"),
        "METRICS_LOCATION": str(workdir / "logs"),
        **(extra_env or {}),
    }
    command = [
        str(BIN / "torchserve"),
        "--start",
        "--foreground",
        "--ncs",
        "--ts-config",
        str(config),
        "--log-config",
        str(log_config),
        "--model-store",
        str(model_store),
    ]
    if models:
        command += ["--models", models]
    if enable_model_api:
        command.append("--enable-model-api")
    with open(workdir / "torchserve.out", "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def gateway_env(ports: TorchServePorts, torchserve_workdir: Path) -> dict[str, str]:
    """The gateway's settings for a TorchServe started by `start_torchserve` in `torchserve_workdir`; its video jobs
    live beside it (`videos/`), so a gateway restarted on the same folder resumes them and no other stack sees them."""
    return {
        "GATEWAY_TORCHSERVE_INFERENCE_URL": ports.url("inference"),
        "GATEWAY_TORCHSERVE_MANAGEMENT_URL": ports.url("management"),
        "GATEWAY_TORCHSERVE_KEY_FILE": str(torchserve_workdir / "key_file.json"),
        "GATEWAY_VIDEO_DIR": str(torchserve_workdir / "videos"),
    }


def start_gateway(port: int, env: dict[str, str], log_path: Path, host: str = "127.0.0.1") -> subprocess.Popen:
    """The FastAPI gateway under uvicorn; `env` carries its GATEWAY_* settings."""
    command = [sys.executable, "-m", "gateway", "--host", host, "--port", str(port)]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_streamlit(port: int, api_url: str, log_path: Path, host: str = "127.0.0.1") -> subprocess.Popen:
    """The Streamlit app, calling the gateway at `api_url`."""
    # Other server options: .streamlit/config.toml, read from the working directory (the repo's root).
    app = str(REPO_ROOT / "streamlit" / "app.py")
    command = [sys.executable, "-m", "streamlit", "run", app, "--server.port", str(port), "--server.address", host]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "API_URL": api_url},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(
    url: str, timeout_s: float, process: subprocess.Popen | None = None, status: int = 200, headers: dict | None = None
) -> httpx.Response:
    """Poll `url` until it answers `status`; fail early if `process` exits."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} while waiting for {url}")
        try:
            response = httpx.get(url, timeout=5, headers=headers)
            if response.status_code == status:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            last = type(error).__name__
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer {status} within {timeout_s:.0f} s (last: {last})")


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM the process group (TorchServe's Java frontend and Python workers alike), wait until every
    process of the group is gone, SIGKILL what is left after `timeout_s`."""
    group = process.pid  # started with start_new_session: the group id is the leader's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _group_alive(group, process) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(group, process):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait(10)


def _group_alive(group: int, process: subprocess.Popen) -> bool:
    process.poll()  # reap the leader, so only live members count
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
