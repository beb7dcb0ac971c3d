"""Faults at the container level (`make compose-smoke CHAOS=1`): the three images under Docker Compose with their
deployment limits (`roadseg.contract.CONTAINER_LIMITS`, the same in compose, ACI and Kubernetes), every shipped
archive loaded, a bounded mixed load of `POST /predict` (both models, three sizes) and a video job, while:

1. the TorchServe container is killed: `docker kill` first (which Docker counts as a stop by hand: the restart
   policy leaves such a container down), then its main process is SIGKILLed from the host, as the kernel's OOM
   killer or a crash would, and the restart policy must bring it back;
2. the gateway container is restarted while a video job runs: the job must resume from the jobs volume and finish
   with every frame;
3. the app container is restarted while a page is open in Chromium: the page must segment an upload again.

The load goes to the gateway container's address on the compose network, as the app container reaches it
(--via-published-port: through the host's published port and Docker's userland proxy instead). Every request is
classified: a mask of the image's size, 503 with Retry-After (a clear refusal), no answer at all (the connection
refused or closed before any byte came back: accepted only if the gateway's access log says it answered it), or
lost (a timeout, a 5xx without Retry-After, a wrong mask, an answer the gateway logged that never arrived). Each
container's peak memory under the load is read from its cgroup against its limit. Writes the figures to --json
(docs/compose_chaos.json) and exits non-zero when a target is missed. Needs a Docker engine
(`../shared/tools/docker-engine.sh start`) and the ports 8000 and 8501 free; not part of `make test`.

    DOCKER_HOST=... python scripts/compose_chaos.py --torch-from pypi --json docs/compose_chaos.json
"""

from __future__ import annotations

import collections
import io
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from compose_smoke import (  # this folder: the script runs as `python scripts/compose_chaos.py`
    COMPOSE_FILE,
    IMAGES,
    SAMPLE,
    TORCH_SOURCES,
    Steps,
    build,
    compose_arguments,
    compose_command,
    run,
    wait_healthy,
)
from PIL import Image

from roadseg.contract import APP_PORT, CONTAINER_LIMITS, GATEWAY_PORT, REALTIME_MODEL_NAME
from roadseg.videos import decoded_frame_count
from stack.processes import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT

CLIP = REPO_ROOT / "streamlit" / "samples" / "camvid_0016E5.mp4"
SIZES = ((480, 360), (1024, 512), (2048, 1024))
MODELS = ("roadseg", REALTIME_MODEL_NAME)
BACK_TARGET_S = 60.0  # a killed TorchServe container serves again within this
CONNECTING = "(document.querySelector('[data-testid=stStatusWidget]')||{}).innerText"  # Streamlit's connection status


def frame_bytes(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.open(SAMPLE).convert("RGB").resize(size, Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# The load's requests, told apart in the gateway's access log (the app's own requests go there too) by a query
# parameter the API ignores.
MARK = {"source": "chaos-load"}


@dataclass
class Load:
    """`clients` threads sending mixed /predict requests until stopped; every answer classified. A request that
    gets no answer at all (the connection refused, or closed before any byte of an answer) was accepted only if
    the gateway answered it: its access log, across restarts, must hold no more of the load's answers than the
    clients received (`settle`). Such requests are listed with their times against the gateway's `outages`."""

    url: str
    clients: int = 2
    timeout_s: float = 90.0  # longer than the gateway's own timeout: a hang would show as lost
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    answered: int = 0  # requests that got an HTTP answer, whatever it was
    lost: list[str] = field(default_factory=list)
    unanswered: list[tuple[float, str]] = field(default_factory=list)  # (sent at, what)
    outages: list[tuple[float, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        images = {size: frame_bytes(size) for size in SIZES}
        self.started = time.monotonic()
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number, images), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.threads = []

    def settle(self, gateway_answers: int) -> dict[str, Any]:
        """The outcome of every request, given how many of the load's requests the gateway's log says it answered."""
        unanswered = [
            f"{what}, sent at {sent - self.started:.2f} s"
            + (" (gateway restarting)" if any(a <= sent <= b for a, b in self.outages) else "")
            for sent, what in self.unanswered
        ]
        return {
            **self.outcomes,
            "never accepted (no answer, none logged by the gateway)": len(unanswered),
            "answered by the gateway but not received": max(0, gateway_answers - self.answered),
            "unanswered": unanswered,
        }

    def _record(self, outcome: str, detail: str = "") -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if outcome == "lost":
                self.lost.append(detail)

    def _client(self, number: int, images: dict[tuple[int, int], bytes]) -> None:
        index = number
        with httpx.Client(base_url=self.url, timeout=self.timeout_s) as client:
            while not self.stop.is_set():
                size, model = SIZES[index % len(SIZES)], MODELS[(index // len(SIZES)) % len(MODELS)]
                index += self.clients
                sent = time.monotonic()
                try:
                    response = client.post(
                        "/predict",
                        params={"model": model, **MARK},
                        files={"file": ("road.jpg", images[size], "image/jpeg")},
                    )
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                    with self.lock:
                        self.unanswered.append((sent, f"{model} {size}: {type(error).__name__}"))
                    time.sleep(0.5)
                    continue
                except httpx.HTTPError as error:  # a timeout: the gateway hung
                    self._record("lost", f"{model} {size}: {type(error).__name__}, sent at {sent - self.started:.2f} s")
                    continue
                with self.lock:
                    self.answered += 1
                self._record(*classify(response, size, model))
                if response.status_code == 503:
                    time.sleep(min(float(response.headers.get("retry-after", 1)), 2.0))


def container_address(project: str, service: str) -> str:
    """The service's address on the compose network (kept across `docker restart`)."""
    [container] = container_ids(project, service)
    template = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    return run(["docker", "inspect", "--format", template, container], capture=True).strip()


def gateway_answers(project: str) -> int:
    """How many of the load's requests the gateway answered, from its access log (both runs of the container)."""
    [container] = container_ids(project, "gateway")
    log = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
    marker = "&".join(f"{k}={v}" for k, v in MARK.items())
    return sum(1 for line in (log.stdout + log.stderr).splitlines() if "POST /predict?" in line and marker in line)


def classify(response: httpx.Response, size: tuple[int, int], model: str) -> tuple[str, str]:
    """(outcome, detail): "mask" for a PNG of the image's size with ids 0-7, "503 + Retry-After", else "lost"."""
    if response.status_code == 200:
        mask = np.asarray(Image.open(io.BytesIO(response.content)))
        if mask.shape == (size[1], size[0]) and int(mask.max()) <= 7:
            return "mask", ""
        return "lost", f"{model} {size}: a {mask.shape} mask"
    if response.status_code == 503 and response.headers.get("retry-after"):
        return "503 + Retry-After", ""
    return "lost", f"{model} {size}: HTTP {response.status_code} {response.text[:200]}"


class MemoryPeaks:
    """Each service's peak working set (MiB: memory in use less the page cache the kernel can drop, what `docker
    stats` and `kubectl top` show), sampled every second, the largest seen across restarts; and the OOM kills in
    its cgroup. A cgroup's own high-water mark would count reclaimable page cache too, which fills any limit."""

    def __init__(self, project: str):
        self.project, self.peaks = project, {service: 0.0 for service in IMAGES}
        self.oom_kills = {service: 0 for service in IMAGES}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        self._read()
        return {service: round(mib, 1) for service, mib in self.peaks.items()}

    def _sample(self) -> None:
        while not self.stop.wait(1.0):
            self._read()

    def _read(self) -> None:
        for service in IMAGES:
            ids = container_ids(self.project, service)
            if not ids:
                continue
            found = cgroup_memory(ids[0])
            used, kills = found if found is not None else (stats_mib(ids[0]), 0)
            if used is not None:
                self.peaks[service] = max(self.peaks[service], used)
            self.oom_kills[service] = max(self.oom_kills[service], kills)


def container_ids(project: str, service: str) -> list[str]:
    command = ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}"]
    command += ["--filter", f"label=com.docker.compose.service={service}"]
    return run(command, capture=True).split()


def cgroup_memory(container: str) -> tuple[float, int] | None:
    """(working set MiB, OOM kills) of the container's cgroup, v1 (cgroupfs driver) or v2, when readable here."""
    for folder, usage, kills_file, kills_key in (
        (Path(f"/sys/fs/cgroup/memory/docker/{container}"), "memory.usage_in_bytes", "memory.oom_control", "oom_kill"),
        (Path(f"/sys/fs/cgroup/docker/{container}"), "memory.current", "memory.events", "oom_kill"),
        (Path(f"/sys/fs/cgroup/system.slice/docker-{container}.scope"), "memory.current", "memory.events", "oom_kill"),
    ):
        try:
            stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
            inactive = int(stat.get("total_inactive_file", stat.get("inactive_file", 0)))
            used = int((folder / usage).read_text()) - inactive
            events = dict(line.split() for line in (folder / kills_file).read_text().splitlines())
            return used / 2**20, int(events.get(kills_key, 0))
        except (OSError, ValueError):
            continue
    return None


def stats_mib(container: str) -> float | None:
    text = run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container], capture=True).split("/")[0]
    units = {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "B": 1 / 2**20}
    for unit, factor in units.items():
        if text.strip().endswith(unit):
            return float(text.strip().removesuffix(unit)) * factor
    return None


def applied_limits(project: str) -> dict[str, tuple[float, int]]:
    """(cpus, MiB) the engine applied to each running container."""
    found = {}
    for service in IMAGES:
        [container] = container_ids(project, service)
        nano, memory = run(
            ["docker", "inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", container],
            capture=True,
        ).split()
        found[service] = (int(nano) / 1e9, int(memory) // 2**20)
    return found


def serves_again(url: str, deadline_s: float, poll_s: float = 1.0) -> float:
    """Seconds until a /predict of the default model gets its mask (polling); raises past `deadline_s`."""
    started = time.monotonic()
    data = frame_bytes(SIZES[0])
    while time.monotonic() - started < deadline_s:
        try:
            response = httpx.post(f"{url}/predict", files={"file": ("road.jpg", data, "image/jpeg")}, timeout=30)
            if response.status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    raise SystemExit(f"the stack did not serve again within {deadline_s:.0f} s")


def restart_count(container: str) -> int:
    return int(run(["docker", "inspect", "--format", "{{.RestartCount}}", container], capture=True))


def kill_torchserve(project: str, url: str) -> dict[str, Any]:
    """`docker kill`, then (the restart policy does not restart a container stopped by hand) the main process
    SIGKILLed from the host; the seconds until the stack serves again."""
    [container] = container_ids(project, "torchserve")
    result: dict[str, Any] = {}
    run(["docker", "kill", container])
    time.sleep(10)
    running = run(["docker", "inspect", "--format", "{{.State.Running}}", container], capture=True).strip()
    result["docker_kill_restarted_by_policy"] = running == "true"
    if running != "true":
        run(["docker", "start", container])  # by hand, as an operator would after `docker kill`
    result["back_after_docker_kill_s"] = round(serves_again(url, 300), 1)
    time.sleep(5)
    before = restart_count(container)
    pid = run(["docker", "inspect", "--format", "{{.State.Pid}}", container], capture=True).strip()
    os.kill(int(pid), 9)  # what the kernel's OOM killer or a crash does: the restart policy applies
    result["back_after_process_kill_s"] = round(serves_again(url, 300), 1)
    result["restarted_by_policy"] = restart_count(container) == before + 1
    return result


def video_through_gateway_restart(project: str, url: str) -> dict[str, Any]:
    """A clip submitted, the gateway container restarted mid-job; the job must finish and its overlay video hold
    every frame of the clip."""
    clip = CLIP.read_bytes()
    with httpx.Client(base_url=url, timeout=120) as client:
        response = client.post("/videos", files={"file": (CLIP.name, clip, "video/mp4")})
        response.raise_for_status()
        status_url = response.headers["location"]
        while (job := client.get(status_url).json())["frames_done"] < 5:
            if job["status"] in ("done", "failed"):
                raise SystemExit(f"the job ended before the restart: {job}")
            time.sleep(0.2)
    done_before = job["frames_done"]
    [container] = container_ids(project, "gateway")
    down = time.monotonic()
    run(["docker", "restart", container])
    back = down + serves_again(url, 120, poll_s=0.1)
    deadline, answers = time.monotonic() + 600, collections.Counter[str]()
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(status_url, timeout=30)
        except httpx.HTTPError as error:
            answers[type(error).__name__] += 1
            time.sleep(1)
            continue
        answers[str(answer.status_code)] += 1
        if answer.status_code == 200 and (job := answer.json())["status"] in ("done", "failed"):
            break
        time.sleep(1)
    written = 0
    if job["status"] == "done":
        written = decoded_frame_count(io.BytesIO(httpx.get(job["video_url"], timeout=120).content))
    return {
        "outage": (down, back),
        "gateway_back_s": round(back - down, 1),
        "frames_done_at_restart": done_before,
        "status": job["status"],
        "frames_done": job["frames_done"],
        "clip_frames": decoded_frame_count(CLIP),
        "overlay_frames": written,
        "error": job.get("error"),
        "status_answers": dict(answers),
    }


def app_through_restart(project: str, app: str) -> dict[str, Any]:
    """A page open in Chromium, the app container restarted; the same page segments an upload afterwards."""
    from playwright.sync_api import sync_playwright

    [container] = container_ids(project, "streamlit")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        page.goto(app)
        page.wait_for_function("document.querySelectorAll('input[type=file]').length >= 2", timeout=120_000)
        started = time.monotonic()
        run(["docker", "restart", container])
        # The same page, not reloaded: Streamlit's client shows "CONNECTING" until the new server answers, then
        # runs the script again; the user uploads once the page is back.
        wait_healthy(project, 300)
        page.wait_for_function(f"!({CONNECTING}||'').includes('CONNECTING')", timeout=180_000)
        page.locator("input[type=file]").first.set_input_files(str(SAMPLE))
        page.get_by_text("Download mask (category ids, PNG)").wait_for(timeout=180_000)
        recovered_s = time.monotonic() - started
        browser.close()
    return {"page_recovered_s": round(recovered_s, 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = compose_arguments(__doc__, "chaos", "roadseg-chaos")
    p.add_argument("--clients", type=int, default=2, help="concurrent /predict clients during the faults")
    p.add_argument("--no-build", action="store_true", help="use the images already tagged --tag")
    p.add_argument(
        "--via-published-port",
        action="store_true",
        help="send the load to the host's published port (through Docker's userland proxy) instead of the gateway "
        "container's address on the compose network, where the app container reaches it",
    )
    args = p.parse_args(argv)
    compose = compose_command()
    # Compose v1 applies `deploy.resources.limits` only in its compatibility mode; v2 always does.
    compose += ["--compatibility"] if compose == ["docker-compose"] else []
    compose += ["-p", args.project, "-f", str(COMPOSE_FILE)]
    env = {**os.environ, "REGISTRY": "roadseg", "IMAGE_TAG": args.tag, **TORCH_SOURCES[args.torch_from]}
    gateway, app = f"http://127.0.0.1:{GATEWAY_PORT}", f"http://127.0.0.1:{APP_PORT}"
    step = Steps()
    if not args.no_build:
        for image in IMAGES:
            step(f"build {image}", partial(build, image, args.tag, args.torch_from))
    figures: dict[str, Any] = {"compose": " ".join(compose[: compose.index("-p")]), "torch_from": args.torch_from}
    load = Load(gateway, args.clients)
    memory = MemoryPeaks(args.project)
    try:
        step("up", lambda: run([*compose, "up", "-d", "--no-build"], env))
        step("healthy", lambda: wait_healthy(args.project, 600))
        figures["limits_applied"] = applied_limits(args.project)
        if not args.via_published_port:
            gateway = f"http://{container_address(args.project, 'gateway')}:{GATEWAY_PORT}"
        figures["load_url"] = gateway
        load.url = gateway
        memory.start()
        load.start()
        time.sleep(20)
        faults = {
            "torchserve_kill": ("kill TorchServe", kill_torchserve, gateway),
            "gateway_restart_video": ("restart the gateway mid-video", video_through_gateway_restart, gateway),
            "app_restart": ("restart the app", app_through_restart, app),
        }
        for key, (name, fault, url) in faults.items():
            try:
                figures[key] = step(name, partial(fault, args.project, url))
                if "outage" in figures[key]:
                    load.outages.append(figures[key].pop("outage"))
                    figures[key]["outage_s"] = [round(t - load.started, 2) for t in load.outages[-1]]
            except (Exception, SystemExit) as error:  # the next faults still run; the checks below fail
                figures[key] = {"error": f"{type(error).__name__}: {str(error)[:500]}"}
                print(f"    {name} FAILED: {figures[key]['error']}", flush=True)
            time.sleep(10)
        load.finish()
        figures["requests"] = load.settle(gateway_answers(args.project))
        figures["lost"] = load.lost[:20]
        figures["peak_memory_mib"] = memory.finish()
        figures["oom_kills"] = memory.oom_kills
    finally:
        load.finish()
        step("down", lambda: run([*compose, "down", "-v"], env))
    figures["limits_mib"] = {service: CONTAINER_LIMITS[service][1] for service in IMAGES}
    figures["steps_s"] = step.seconds
    killed, video = figures["torchserve_kill"], figures["gateway_restart_video"]
    checks = {
        "no accepted request lost": figures["requests"].get("lost", 0) == 0
        and figures["requests"]["answered by the gateway but not received"] == 0,
        f"TorchServe back within {BACK_TARGET_S:.0f} s of a kill": killed.get("back_after_process_kill_s", 1e9)
        <= BACK_TARGET_S,
        "TorchServe restarted by its policy": bool(killed.get("restarted_by_policy")),
        "the video job finished with every frame after the gateway restart": video.get("status") == "done"
        and video.get("overlay_frames") == video.get("clip_frames")
        and "404" not in video.get("status_answers", {"404": 1}),
        "the open page segments again after the app restart": "page_recovered_s" in figures["app_restart"],
        "limits applied as the contract says": figures["limits_applied"]
        == {s: (float(c), m) for s, (c, m) in CONTAINER_LIMITS.items()},
        "every container within its memory limit": all(
            figures["peak_memory_mib"][s] < CONTAINER_LIMITS[s][1] and figures["oom_kills"][s] == 0 for s in IMAGES
        ),
    }
    figures["checks"] = checks
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not all(checks.values()):
        raise SystemExit("missed: " + "; ".join(name for name, ok in checks.items() if not ok))
    return figures


if __name__ == "__main__":
    main()
