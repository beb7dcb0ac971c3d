"""The main job: build the model archive if needed, run TorchServe, the gateway and the Streamlit app,
stop all of them on Ctrl-C.

    python -m stack [--gateway-port 8000] [--app-port 8501] [--rebuild-archive]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path

import httpx

from handler.archive import ensure_archives, torchserve_models
from roadseg.contract import APP_PORT, GATEWAY_PORT
from stack.processes import (
    REPO_ROOT,
    PortTakenError,
    TorchServePorts,
    ensure_ports_free,
    gateway_env,
    start_gateway,
    start_streamlit,
    start_torchserve,
    stop,
    wait_for,
)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway-port", type=int, default=GATEWAY_PORT, help="gateway port")
    p.add_argument("--app-port", type=int, default=APP_PORT, help="Streamlit app port")
    p.add_argument("--host", default="127.0.0.1", help="address the gateway and the app bind to")
    p.add_argument(
        "--torchserve-ports",
        type=int,
        nargs=5,
        default=list(astuple(TorchServePorts())),
        metavar=("INFERENCE", "MANAGEMENT", "METRICS", "GRPC_INFERENCE", "GRPC_MANAGEMENT"),
        help="TorchServe's loopback ports",
    )
    p.add_argument("--model-store", type=Path, default=REPO_ROOT / "model_store", help="folder of .mar archives")
    p.add_argument("--workdir", type=Path, default=REPO_ROOT / "logs", help="TorchServe's folder (key file, logs)")
    p.add_argument("--rebuild-archive", action="store_true", help="rebuild the model archives first")
    p.add_argument("--startup-timeout", type=float, default=180, help="seconds to wait for /health")
    return p


def main(args: argparse.Namespace) -> int:
    ports = TorchServePorts(*args.torchserve_ports)
    try:
        # Before anything starts: a second stack would otherwise report the first one's health as its own.
        ensure_ports_free({"gateway": args.gateway_port, "web app": args.app_port}, args.host)
        ensure_ports_free(ports.named())  # TorchServe binds loopback
    except PortTakenError as error:
        print(error, file=sys.stderr)
        return 2
    archives = ensure_archives(args.model_store, rebuild=args.rebuild_archive)
    processes: list[subprocess.Popen[bytes]] = []

    def shutdown() -> None:
        for process in reversed(processes):
            stop(process)

    # Ctrl-C and SIGTERM stop everything, even when started with SIGINT ignored (e.g. from a script's `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        models = torchserve_models(archives)
        print(f"starting TorchServe with {', '.join(a.name for a in archives)} (logs: {args.workdir}/logs)", flush=True)
        torchserve = start_torchserve(args.workdir, args.model_store, ports, models=models)
        processes.append(torchserve)
        gateway = start_gateway(
            args.gateway_port, gateway_env(ports, args.workdir), args.workdir / "gateway.log", args.host
        )
        processes.append(gateway)
        base = f"http://{args.host}:{args.gateway_port}"
        app = start_streamlit(args.app_port, base, args.workdir / "streamlit.log", args.host)
        processes.append(app)
        app_url = f"http://{args.host}:{args.app_port}"
        health = wait_for(f"{base}/health", args.startup_timeout, gateway).json()
        wait_for(f"{app_url}/_stcore/health", args.startup_timeout, app)
        versions = [v["version"] for m in httpx.get(f"{base}/models", timeout=30).json() for v in m["versions"]]
        print(
            f"\nready: model {health['model']} version {health['version']} (versions: {', '.join(versions)})\n"
            f"  web app   {app_url}\n"
            f"  gateway   {base}  (API docs: {base}/docs)\n"
            f"  try:      curl -F file=@image.png {base}/predict -o mask.png\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        print("a service exited unexpectedly; stopping the others (see the logs)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        shutdown()


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
