"""The three images built and run for real with Docker Compose, end to end (`make compose-smoke`).

    DOCKER_HOST=... python scripts/compose_smoke.py --torch-from pypi --json docs/compose_smoke.json

Builds the three images, starts the compose stack, waits for every container to be healthy, posts a real road
image to /predict on the published gateway port and checks the PNG mask (size, ids 0-7), checks /models, loads
the app in Chromium and segments one upload through it, then runs `down` and checks that nothing is left
running. Prints each step's time and the image sizes (and writes them to --json). Needs a Docker engine
(`../shared/tools/docker-engine.sh start`) and the ports 8000 and 8501 free; not part of `make test`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from roadseg.contract import APP_PORT, GATEWAY_PORT, MODEL_NAME
from stack.processes import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker" / "docker-compose.yml"
IMAGES = ("torchserve", "gateway", "streamlit")
SAMPLE = REPO_ROOT / "streamlit" / "samples" / "camvid_0016E5_07959.jpg"
TORCH_SOURCES = {  # --torch-from: the TorchServe image's build arguments
    "cpu-index": {"TORCH_INDEX_URL": "https://download.pytorch.org/whl/cpu", "TORCH_LOCK": "torch-cpu.txt"},
    "pypi": {"TORCH_INDEX_URL": "https://pypi.org/simple", "TORCH_LOCK": "torch-pypi.txt"},
}


def compose_command() -> list[str]:
    """`docker compose` (v2) when the client has it, else `docker-compose` (v1)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise SystemExit("neither `docker compose` nor `docker-compose` is installed")


def run(command: list[str], env: dict[str, str] | None = None, capture: bool = False) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, text=True, capture_output=capture)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr or ''}")
    return result.stdout if capture else ""


class Steps:
    """Each step's wall-clock seconds, printed as it ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        print(f"... {name}", flush=True)
        result = work()
        self.seconds[name] = round(time.perf_counter() - started, 1)
        print(f"    {name}: {self.seconds[name]:.1f} s", flush=True)
        return result


def build(image: str, tag: str, torch_from: str) -> None:
    args = [f"--build-arg={k}={v}" for k, v in TORCH_SOURCES[torch_from].items()] if image == "torchserve" else []
    run(["docker", "build", "-f", f"docker/{image}.Dockerfile", *args, "-t", f"roadseg/{image}:{tag}", "."])


def image_size_mb(image: str, tag: str) -> float:
    size = run(["docker", "image", "inspect", "--format", "{{.Size}}", f"roadseg/{image}:{tag}"], capture=True)
    return round(int(size) / 1e6, 1)


def containers(project: str, all_states: bool = False) -> list[str]:
    command = ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"]
    return run(command + (["-a"] if all_states else []), capture=True).split()


def wait_healthy(project: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ids = containers(project)
        states = [
            run(["docker", "inspect", "--format", "{{.Name}} {{.State.Health.Status}}", i], capture=True).strip()
            for i in ids
        ]
        if len(states) == len(IMAGES) and all(s.endswith(" healthy") for s in states):
            return
        time.sleep(3)
    raise SystemExit(f"not healthy within {timeout_s:.0f} s: {states}")


def check_predict(gateway: str) -> float:
    """A real road image through /predict: a PNG mask of its size with ids 0-7; returns the seconds it took."""
    data = SAMPLE.read_bytes()
    started = time.perf_counter()
    response = httpx.post(f"{gateway}/predict", files={"file": (SAMPLE.name, data, "image/jpeg")}, timeout=120)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    mask = Image.open(io.BytesIO(response.content))
    size = Image.open(SAMPLE).size
    ids = np.asarray(mask)
    assert response.headers["content-type"] == "image/png" and mask.mode == "L", response.headers
    assert mask.size == size and ids.max() <= 7, (mask.size, size, ids.max())
    return seconds


def check_models(gateway: str) -> list[str]:
    models = httpx.get(f"{gateway}/models", timeout=60).json()
    versions = [f"{m['name']} {v['version']}" for m in models for v in m["versions"]]
    assert any(m["name"] == MODEL_NAME for m in models) and versions, models
    return versions


def check_app_in_chromium(app: str) -> None:
    """The app page in Chromium: upload the sample, wait for the mask and the overlay."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        page.goto(app)
        page.get_by_text("Road-scene segmentation").wait_for(timeout=120_000)
        page.wait_for_function("document.querySelectorAll('input[type=file]').length >= 2", timeout=120_000)
        page.locator("input[type=file]").first.set_input_files(str(SAMPLE))
        page.get_by_text("Download mask (category ids, PNG)").wait_for(timeout=180_000)
        page.get_by_text("Overlay (50% mask)").wait_for(timeout=60_000)
        browser.close()


def compose_arguments(description: str | None, tag: str, project: str) -> argparse.ArgumentParser:
    """The options every run of the compose stack takes: where PyTorch comes from, the images' tag, the project."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--torch-from", choices=sorted(TORCH_SOURCES), default="cpu-index", help="PyTorch wheel source")
    p.add_argument("--tag", default=tag, help="image tag (IMAGE_TAG)")
    p.add_argument("--project", default=project, help="compose project name")
    p.add_argument("--json", type=Path, help="write the figures here")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = compose_arguments(__doc__, "smoke", "roadseg-smoke")
    p.add_argument("--health-timeout", type=float, default=600, help="seconds to wait for healthy containers")
    args = p.parse_args(argv)
    compose = [*compose_command(), "-p", args.project, "-f", str(COMPOSE_FILE)]
    env = {**os.environ, "REGISTRY": "roadseg", "IMAGE_TAG": args.tag, **TORCH_SOURCES[args.torch_from]}
    gateway, app = f"http://127.0.0.1:{GATEWAY_PORT}", f"http://127.0.0.1:{APP_PORT}"
    step = Steps()
    for image in IMAGES:
        step(f"build {image}", partial(build, image, args.tag, args.torch_from))
    sizes = {image: image_size_mb(image, args.tag) for image in IMAGES}
    print("image sizes (MB):", sizes)
    try:
        step("up", lambda: run([*compose, "up", "-d", "--no-build"], env))
        step("healthy", lambda: wait_healthy(args.project, args.health_timeout))
        first_predict_s = step("first /predict", lambda: check_predict(gateway))
        versions = step("/models", lambda: check_models(gateway))
        step("app in Chromium", lambda: check_app_in_chromium(app))
    finally:
        step("down", lambda: run([*compose, "down"], env))
    left = containers(args.project, all_states=True)
    assert not left, f"containers left after down: {left}"
    figures = {
        "compose": " ".join(compose_command()),
        "torch_from": args.torch_from,
        "image_sizes_mb": sizes,
        "steps_s": step.seconds,
        "first_predict_request_s": round(first_predict_s, 2),
        "models": versions,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
