"""Load and soak: N requests at concurrency C, bounded in time; throughput, latency percentiles, errors, and
the memory of each process before and after. Not a test: it prints figures (docs/RELIABILITY.md).

    python -m benchmarks.load --requests 1000 --concurrency 4          # its own TorchServe + gateway
    python -m benchmarks.load --url http://127.0.0.1:8000 --requests 200   # a running `make run` (no memory)

The images are the app's bundled CamVid samples (480x360 JPEG), sent in turn. Memory is the resident set
(RSS) of the gateway, TorchServe's frontend and its model worker, read after a warm-up and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.serving import REPO_ROOT, start_services
from stack.processes import stop

SAMPLES = sorted((REPO_ROOT / "streamlit" / "samples").glob("*.jpg"))


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running gateway (default: start TorchServe and a gateway for this run)")
    p.add_argument("--requests", type=int, default=1000, help="requests after the warm-up")
    p.add_argument("--concurrency", type=int, default=4, help="clients sending at once")
    p.add_argument("--warmup", type=int, default=50, help="requests before the first memory reading")
    p.add_argument("--max-seconds", type=float, default=900, help="stop sending after this long")
    p.add_argument("--memory-readings", type=int, default=5, help="read memory this many times during the run")
    p.add_argument("--version", help="model version to load (default: the served default, 3.0 on ONNX Runtime)")
    return p


def memory_mb(processes: list) -> dict[str, float]:
    """RSS in MB of the gateway, TorchServe's frontend (Java) and its Python workers (one per version)."""
    if not processes:
        return {}
    gateway, torchserve = (psutil.Process(p.pid) for p in processes)
    sizes: dict[str, float] = collections.defaultdict(float)
    for process in [gateway, *gateway.children(recursive=True)]:
        sizes["gateway"] += process.memory_info().rss / 2**20
    for process in torchserve.children(recursive=True):
        kind = "model workers (all versions)" if "python" in process.name() else "TorchServe frontend"
        sizes[kind] += process.memory_info().rss / 2**20
    return dict(sizes)


async def send(
    url: str, count: int, concurrency: int, deadline: float, version: str | None = None
) -> tuple[list[float], collections.Counter]:
    """`count` POST /predict from `concurrency` clients until `deadline`: latencies of the 200s, and every status."""
    images = [path.read_bytes() for path in SAMPLES]
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline:
                index = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/predict",
                        params={"version": version} if version else None,
                        files={"file": ("road.jpg", images[index % len(images)], "image/jpeg")},
                    )
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - started)
                except httpx.HTTPError as error:
                    statuses[type(error).__name__] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


def main(args: argparse.Namespace) -> dict[str, object]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the services it started on a plain kill too
    with tempfile.TemporaryDirectory() as tmp:
        processes: list = []
        try:
            url = args.url
            if url is None:
                url, processes = start_services(Path(tmp))
            asyncio.run(send(url, args.warmup, args.concurrency, time.monotonic() + args.max_seconds, args.version))
            trajectory = [memory_mb(processes)]
            started = time.monotonic()
            latencies: list[float] = []
            statuses: collections.Counter = collections.Counter()
            parts = args.memory_readings
            for part in range(parts):  # the requests in equal parts, memory read after each
                count = args.requests * (part + 1) // parts - args.requests * part // parts
                part_latencies, part_statuses = asyncio.run(
                    send(url, count, args.concurrency, started + args.max_seconds, args.version)
                )
                latencies += part_latencies
                statuses += part_statuses
                trajectory.append(memory_mb(processes))
            elapsed = time.monotonic() - started
            before, after = trajectory[0], trajectory[-1]
        finally:
            for process in processes:
                stop(process)
    done = sum(statuses.values())
    result: dict[str, object] = {
        "requests": done,
        "version": args.version or "default",
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "throughput": statuses["200"] / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "statuses": dict(statuses),
        "memory_mb": {k: (before[k], after[k]) for k in before},
        "memory_trajectory_mb": {k: [round(reading[k]) for reading in trajectory] for k in before},
    }
    print(
        f"{done} requests (version {result['version']}) at concurrency {args.concurrency} in {elapsed:.0f} s: "
        f"{result['throughput']:.2f} img/s, "
        f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; "
        f"answers {dict(statuses)}"
    )
    for name, (first, last) in result["memory_mb"].items():  # type: ignore[attr-defined]
        steps = " -> ".join(str(mb) for mb in result["memory_trajectory_mb"][name])  # type: ignore[index]
        print(f"  {name}: {first:.0f} MB after the warm-up, {last:.0f} MB at the end ({last - first:+.0f} MB): {steps}")
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
