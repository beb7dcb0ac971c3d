"""Benchmark /predict against the same model called in-process (not a test: prints figures).

    python -m benchmarks.predict_latency --url http://127.0.0.1:8000 --archive model_store/roadseg_v2.0.mar

For each image size (480x360 and 2048x1024 by default, made from one road image), prints p50/p95 latency
and throughput of POST /predict at concurrency 1 and 8, and of the handler's pipeline in-process
(decode, resize, model, upsample, argmax, PNG) on the same bytes, and their ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import torch
from PIL import Image

from handler.archive import SHIPPED_MODELS, load_model_from_archive
from handler.processing import mask_png, prepare_image, run_model

DEFAULT_IMAGE = Path(__file__).resolve().parents[1].parent / "shared/data/camvid/val/0016E5_07959.png"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000", help="gateway base URL")
    p.add_argument(
        "--archive",
        type=Path,
        default=Path("model_store") / SHIPPED_MODELS[0].archive_name,
        help="the archive being served (default: the default version)",
    )
    p.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="source road image (resized to each size)")
    p.add_argument("--sizes", nargs="+", default=["480x360", "2048x1024"], help="WIDTHxHEIGHT sizes")
    p.add_argument("--requests", type=int, default=24, help="requests per measurement")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8], help="concurrent clients")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def image_at(path: Path, size: tuple[int, int]) -> bytes:
    image = Image.open(path).convert("RGB") if path.exists() else Image.new("RGB", size, (90, 110, 120))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BILINEAR).save(buffer, format="PNG")
    return buffer.getvalue()


def time_in_process(model, config, data: bytes, runs: int) -> list[float]:
    def once():
        item = prepare_image(data, config.short_side)
        [logits] = run_model(model, [item], torch.device("cpu"))
        assert logits is not None, item.error
        return mask_png(logits, item.size)

    once()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    return times


def time_http(url: str, data: bytes, runs: int, concurrency: int) -> tuple[list[float], float]:
    with httpx.Client(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency)) as client:

        def once(_):
            started = time.perf_counter()
            response = client.post("/predict", files={"file": ("bench.png", data, "image/png")})
            response.raise_for_status()
            return time.perf_counter() - started

        once(None)  # warm-up
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            times = list(pool.map(once, range(runs)))
        return times, runs / (time.perf_counter() - started)


def main(args: argparse.Namespace) -> list[dict]:
    torch.set_num_threads(os.cpu_count() or 1)
    model, config = load_model_from_archive(args.archive)
    health = httpx.get(f"{args.url}/health", timeout=10).json()
    print(
        f"model {config.model} {config.model_kwargs} (served: {health.get('model')} "
        f"{health.get('version')}), inference short side {config.short_side}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, threads "
        f"{torch.get_num_threads()}"
    )
    rows = []
    header = f"{'size':>10} {'path':>22} {'p50 ms':>9} {'p95 ms':>9} {'img/s':>7} {'p50 / in-process':>17}"
    print(header)
    for size_text in args.sizes:
        width, height = (int(v) for v in size_text.lower().split("x"))
        size = (width, height)
        data = image_at(args.image, size)
        local = time_in_process(model, config, data, max(5, args.requests // 3))
        local_p50, local_p95 = percentiles(local)
        rows.append(
            {
                "size": size_text,
                "path": "in-process",
                "p50_ms": local_p50,
                "p95_ms": local_p95,
                "throughput": 1000 / local_p50,
                "ratio": 1.0,
            }
        )
        for concurrency in args.concurrency:
            times, throughput = time_http(args.url, data, args.requests, concurrency)
            p50, p95 = percentiles(times)
            rows.append(
                {
                    "size": size_text,
                    "path": f"/predict c={concurrency}",
                    "p50_ms": p50,
                    "p95_ms": p95,
                    "throughput": throughput,
                    "ratio": p50 / local_p50,
                }
            )
        for row in rows[-1 - len(args.concurrency) :]:
            print(
                f"{row['size']:>10} {row['path']:>22} {row['p50_ms']:9.1f} {row['p95_ms']:9.1f} "
                f"{row['throughput']:7.2f} {row['ratio']:17.2f}"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main(get_args_parser().parse_args())
