"""The model in every way it runs, in-process and served, in one run; writes the table into docs/BENCHMARKS.md.
Not a test: it prints figures.

    python -m benchmarks.serving                 # starts TorchServe + the gateway on free ports (make bench)
    python -m benchmarks.serving --url http://127.0.0.1:8000 --no-write      # against a running `make run`

For each size (480x360 and 2048x1024, made from one CamVid val image) it times the handler's pipeline
in-process (decode, resize, model, logits to full size, argmax, PNG; `segmenter.Segmenter`) with the
default version's model run four ways: eager PyTorch fp32, bf16 autocast + channels-last, ONNX Runtime
fp32 and ONNX Runtime INT8 (`training.quantize`); then POST /predict (format raw) at concurrency 1 and 8
against the shipped configuration. Ratios are to eager fp32 and to the in-process time of the served
runtime. The FLOP bound is the model's MACs x 2 over the machine's measured fp32 matrix-multiply peak.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import onnxruntime as ort
import psutil
import torch
from PIL import Image

from benchmarks.measure import cpu_name, model_macs, peak_gflops, timed
from handler.archive import ensure_archives, torchserve_models
from handler.responses import mask_png
from roadseg.catalogue import SHIPPED_MODELS
from roadseg.images import decode_image
from segmenter.onnx_model import OnnxModel, cpu_threads
from segmenter.precision import cpu_has_bf16
from segmenter.segmenter import Segmenter, prepare_image
from segmenter.weights import load_model
from stack.processes import (
    TorchServePorts,
    free_port,
    gateway_env,
    start_gateway,
    start_torchserve,
    stop,
    wait_for,
)
from training.onnx_export import export_onnx

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = REPO_ROOT.parent / "shared/data/cityscapes/leftImg8bit/val/zurich/zurich_000001_000019_leftImg8bit.jpg"
FALLBACK_IMAGE = REPO_ROOT / "streamlit/samples/camvid_0016E5_07959.jpg"
DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
# The default version's accuracy per runtime (`make ship RECIPE=recipes/roadseg-3.0.toml` for 3.0).
AGREEMENT = REPO_ROOT / "docs" / "model" / f"v{SHIPPED_MODELS[0].version}" / "runtime_agreement.json"
BEGIN, END = "<!-- benchmarks.serving:begin -->", "<!-- benchmarks.serving:end -->"
EAGER, BF16, ORT_FP32, ORT_INT8 = "eager fp32", "bf16 + channels-last", "ONNX Runtime fp32", "ONNX Runtime INT8"
SERVED_C1 = "/predict c=1, in turn"  # one request at a time, taking turns with the in-process runs
# What serving may add to each model's in-process time (issue: the embedded path), one request at a time.
OVERHEAD_TARGETS = {"roadseg": 1.15, "roadseg-rt": 1.3}
SEGMENT, PIPELINE, JPEG_UPLOAD = "in-process segment", "in-process bytes to PNG", "/predict, JPEG upload"


@dataclass
class Row:
    size: str
    path: str
    times: list[float]
    throughput: float | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    @property
    def images_per_s(self) -> float:
        return self.throughput if self.throughput is not None else 1000 / self.p50


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running gateway (default: start TorchServe and a gateway for this run)")
    p.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="road image, resized to each size")
    p.add_argument(
        "--sizes", nargs="+", default=["1024x512", "480x360"], help="WIDTHxHEIGHT sizes (the first: per model too)"
    )
    p.add_argument("--requests", type=int, default=24, help="requests per served measurement")
    p.add_argument("--runs", type=int, default=12, help="runs per in-process measurement (fewer if slow)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[8], help="concurrent clients (besides 1, in turn)")
    p.add_argument("--output", type=Path, default=DOC, help="the Markdown file whose generated section is replaced")
    p.add_argument("--no-write", action="store_true", help="print only")
    return p


def image_at(path: Path, size: tuple[int, int]) -> bytes:
    source = path if path.exists() else FALLBACK_IMAGE
    buffer = io.BytesIO()
    Image.open(source).convert("RGB").resize(size, Image.Resampling.BILINEAR).save(buffer, format="PNG")
    return buffer.getvalue()


def pipeline(segmenter: Segmenter, data: bytes) -> Callable[[], bytes]:
    """The handler's work for one request, in-process."""

    def once() -> bytes:
        item = segmenter.prepare(data)
        [logits] = segmenter.logits([item])
        assert logits is not None, item.error
        return mask_png(logits, item.size)

    return once


def round_robin(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Seconds per call of each, the calls taking turns `runs` times, after two warm-up rounds. A call
    that returns an HTTP response must succeed."""

    def checked(call: Callable[[], object]) -> None:
        if isinstance(answer := call(), httpx.Response):
            answer.raise_for_status()

    for _ in range(2):
        for call in calls.values():
            checked(call)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            checked(call)
            times[name].append(time.perf_counter() - started)
    return times


def time_http(url: str, data: bytes, runs: int, concurrency: int) -> tuple[list[float], float]:
    with httpx.Client(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency)) as client:

        def once(_: object = None) -> float:
            started = time.perf_counter()
            response = client.post("/predict", files={"file": ("bench.png", data, "image/png")})
            response.raise_for_status()
            return time.perf_counter() - started

        for _ in range(concurrency):
            once()  # warm-up: connections open, the worker's first batch done
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            times = list(pool.map(once, range(runs)))
        return times, runs / (time.perf_counter() - started)


def start_services(workdir: Path) -> tuple[str, list]:
    """TorchServe with the shipped archives and a gateway, on free loopback ports."""
    archives = ensure_archives(REPO_ROOT / "model_store")
    ports = TorchServePorts.free()
    torchserve = start_torchserve(workdir / "torchserve", REPO_ROOT / "model_store", ports, torchserve_models(archives))
    port = free_port()
    gateway = start_gateway(port, gateway_env(ports, workdir / "torchserve"), workdir / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/health", 300, gateway)
    return url, [gateway, torchserve]


def served_defaults(url: str) -> list[tuple[str, str]]:
    """(name, default version) of every model the gateway lists, in its order."""
    listing = httpx.get(f"{url}/models", timeout=30).json()
    return [(m["name"], next(v["version"] for v in m["versions"] if v["is_default"])) for m in listing]


def overhead(url: str, data: bytes, name: str, version: str, requests: int) -> dict[str, object]:
    """One model's served form in this process against `POST /predict?model=name`, taking turns: p50 ms of
    `Segmenter.segment` on the decoded frame (the embedded table's figure), of the handler's whole work (bytes in,
    mask PNG out) and of the request."""
    found = [m for m in SHIPPED_MODELS if (m.name, m.version) == (name, version)]
    if not found:
        raise SystemExit(f"the gateway serves {name} {version}, which this checkout's catalogue does not ship")
    shipped = found[0]
    segmenter = Segmenter.load(shipped.onnx or shipped.weights, cpu_threads())
    rgb = decode_image(data)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    with httpx.Client(base_url=url, timeout=300) as http:
        params = {"model": name}
        calls: dict[str, Callable[[], object]] = {
            SEGMENT: partial(segmenter.segment, rgb),
            PIPELINE: pipeline(segmenter, data),
            "/predict": partial(http.post, "/predict", params=params, files={"file": ("b.png", data, "image/png")}),
            JPEG_UPLOAD: partial(
                http.post, "/predict", params=params, files={"file": ("b.jpg", buffer.getvalue(), "image/jpeg")}
            ),
        }
        turns = round_robin(calls, requests)
    p50 = {path: statistics.median(times) * 1000 for path, times in turns.items()}
    return {"model": name, "version": version, "runtime": segmenter.describe(), "p50": p50}


def breakdown(
    url: str, data: bytes, processes: list, logs: Path, runs: int = 20, model: str | None = None
) -> dict[str, float]:
    """Where one request's time and CPU go, over `runs` sequential requests: medians of the client's
    clock, the gateway's call to TorchServe (X-Inference-Time-Ms), TorchServe's own latency and the
    handler's (its metrics logs); CPU ms per request of the gateway, TorchServe's frontend and its worker."""
    gateway, torchserve = (psutil.Process(p.pid) for p in processes)
    family = {"gateway": [gateway, *gateway.children(recursive=True)]}
    for process in torchserve.children(recursive=True):
        kind = "model worker" if "python" in process.name() else "TorchServe frontend"
        family.setdefault(kind, []).append(process)

    def cpu() -> dict[str, float]:
        return {k: sum(sum(p.cpu_times()[:2]) for p in ps) for k, ps in family.items()}

    client, upstream = [], []
    with httpx.Client(base_url=url, timeout=300) as http:
        before = cpu()
        for _ in range(runs):
            started = time.perf_counter()
            params = {"model": model} if model else {}
            response = http.post("/predict", params=params, files={"file": ("bench.png", data, "image/png")})
            response.raise_for_status()
            client.append((time.perf_counter() - started) * 1000)
            upstream.append(float(response.headers["x-inference-time-ms"]))
        after = cpu()
    time.sleep(2)  # TorchServe writes its metrics shortly after answering
    handler = re.findall(r"PredictionTime\.ms:([0-9.]+)", (logs / "model_metrics.log").read_text())
    served = re.findall(r"ts_inference_latency_microseconds\.\w+:([0-9.]+)", (logs / "ts_metrics.log").read_text())
    result = {
        "client": statistics.median(client),
        "gateway to TorchServe": statistics.median(upstream),
        "TorchServe": statistics.median(float(v) / 1000 for v in served[-runs:]),
        "handler": statistics.median(float(v) for v in handler[-runs:]),
    }
    result.update({f"cpu {k}": (after[k] - before[k]) * 1000 / runs for k in family})
    return result


def measure(
    url: str,
    workdir: Path,
    processes: list,
    image: Path,
    sizes: list[str],
    requests: int,
    runs: int,
    concurrency: list[int],
) -> tuple[list[Row], dict[str, object]]:
    default = SHIPPED_MODELS[0]
    threads = cpu_threads()
    torch.set_num_threads(threads)
    model, config = load_model(default.weights)
    variants: dict[str, Segmenter] = {
        EAGER: Segmenter(model, config, precision="fp32"),
        BF16: Segmenter.load(default.weights, precision="bf16"),
        ORT_FP32: Segmenter(OnnxModel(export_onnx(model, workdir / "fp32.onnx", config.short_side), threads), config),
    }
    if default.onnx is not None:
        variants[ORT_INT8] = Segmenter.load(default.onnx, threads)
    served = ORT_INT8 if default.onnx is not None and default.onnx.name.endswith(".int8.onnx") else EAGER
    listing = httpx.get(f"{url}/models", timeout=30).json()
    version = next(v for m in listing for v in m["versions"] if v["is_default"])
    facts: dict[str, object] = {
        "cpu": cpu_name(),
        "threads": threads,
        "bf16": cpu_has_bf16(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "model": f"{config.model} {config.model_kwargs}, version {default.version}, short side {config.short_side}",
        "served": served,
        "batch_size": version.get("batch_size"),
        "workers": version.get("workers"),
        "peak_gflops": peak_gflops(),
        "macs": {},
    }
    rows: list[Row] = []
    for size_text in sizes:
        width, height = (int(v) for v in size_text.lower().split("x"))
        data = image_at(image, (width, height))
        item = prepare_image(data, config.short_side)
        assert item.tensor is not None
        facts["macs"][size_text] = model_macs(model, *item.tensor.shape[1:])  # type: ignore[index]
        # Eager fp32, the served runtime in-process and one request to /predict take turns, so the targets'
        # ratios compare figures taken under the same conditions (a shared machine's speed drifts by the minute).
        paired: dict[str, Callable[[], object]] = {
            name: pipeline(variants[name], data) for name in dict.fromkeys([EAGER, served])
        }
        with httpx.Client(base_url=url, timeout=300) as http:
            paired[SERVED_C1] = partial(http.post, "/predict", files={"file": ("bench.png", data, "image/png")})
            turns = round_robin(paired, requests)
        for name, segmenter in variants.items():
            times = turns.get(name) or timed(pipeline(segmenter, data), runs)
            rows.append(Row(size_text, name, times))
            print(_line(rows[-1]), flush=True)
        rows.append(Row(size_text, SERVED_C1, turns[SERVED_C1], len(turns[SERVED_C1]) / sum(turns[SERVED_C1])))
        print(_line(rows[-1]), flush=True)
        for clients in concurrency:
            times, throughput = time_http(url, data, requests, clients)
            rows.append(Row(size_text, f"/predict c={clients}", times, throughput))
            print(_line(rows[-1]), flush=True)
        if processes:
            facts.setdefault("breakdown", {})[size_text] = breakdown(  # type: ignore[index]
                url, data, processes, workdir / "torchserve" / "logs"
            )
    # Each served model's own overhead at the first size: its in-process time against its /predict.
    width, height = (int(v) for v in sizes[0].lower().split("x"))
    data = image_at(image, (width, height))
    facts["overhead_size"] = sizes[0]
    facts["overhead"] = []
    for name, version in served_defaults(url):
        found = overhead(url, data, name, version, requests)
        if processes:
            found["breakdown"] = breakdown(url, data, processes, workdir / "torchserve" / "logs", model=name)
        facts["overhead"].append(found)  # type: ignore[attr-defined]
        print(found, flush=True)
    return rows, facts


def _line(row: Row) -> str:
    return f"{row.size:>10} {row.path:>22} p50 {row.p50:8.1f} ms  p95 {row.p95:8.1f} ms  {row.images_per_s:6.2f} img/s"


def report(rows: list[Row], facts: dict[str, object], concurrency: list[int]) -> str:
    """The Markdown section: machine, table, FLOP bound, and the issue's three targets."""
    served = str(facts["served"])
    lines = [
        f"Machine: {facts['cpu']}, {facts['threads']} threads, native bf16: {'yes' if facts['bf16'] else 'no'}; "
        f"PyTorch {facts['torch']}, ONNX Runtime {facts['onnxruntime']}. Model: {facts['model']}. Served: "
        f"{served} (TorchServe batch size {facts['batch_size']}, {facts['workers']} worker(s)).",
        "",
        "| size | path | p50 ms | p95 ms | img/s | p50 / eager fp32 | p50 / in-process served runtime |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    by_key = {(r.size, r.path): r for r in rows}
    for row in rows:
        eager, own = by_key[(row.size, EAGER)], by_key[(row.size, served)]
        relative = f"{row.p50 / own.p50:.2f}" if row.path.startswith("/predict") or row.path == served else ""
        label = f"in-process {row.path}" + (" (served)" if row.path == served else "")
        lines.append(
            f"| {row.size} | {label if not row.path.startswith('/') else row.path} | {row.p50:.1f} | {row.p95:.1f} | "
            f"{row.images_per_s:.2f} | {row.p50 / eager.p50:.2f} | {relative} |"
        )
    peak = float(facts["peak_gflops"])  # type: ignore[arg-type]
    macs: dict[str, float] = facts["macs"]  # type: ignore[assignment]
    bounds = ", ".join(
        f"{size}: {m / 1e9:.1f} GMACs -> {2 * m / (peak * 1e9) * 1000:.0f} ms" for size, m in macs.items()
    )
    lines += ["", f"FLOP bound (MACs x 2 / measured fp32 peak of {peak:.0f} GFLOP/s): {bounds}."]
    first = rows[0].size
    c_high = max(concurrency)
    served_c1 = by_key[(first, SERVED_C1)]
    checks = [
        (
            f"served /predict p50 at {first} <= 0.45x in-process eager fp32",
            served_c1.p50 / by_key[(first, EAGER)].p50,
            0.45,
            "le",
        ),
        (
            f"served p50 / in-process p50 of the served runtime at {first} <= 1.15",
            served_c1.p50 / by_key[(first, served)].p50,
            1.15,
            "le",
        ),
    ]
    for size in dict.fromkeys(r.size for r in rows):
        low, high = by_key[(size, SERVED_C1)], by_key[(size, f"/predict c={c_high}")]
        checks.append((f"throughput at c={c_high} >= c=1 at {size}", high.images_per_s / low.images_per_s, 1.0, "ge"))
    split: dict[str, dict[str, float]] = facts.get("breakdown", {})  # type: ignore[assignment]
    if split:
        lines += [
            "",
            "One request at a time, 20 requests (medians; CPU: milliseconds of CPU time per request):",
            "",
            "| size | client ms | gateway -> TorchServe ms | TorchServe ms | handler ms | "
            + " | ".join(f"CPU {k.removeprefix('cpu ')}" for k in next(iter(split.values())) if k.startswith("cpu "))
            + " |",
            "| --- " * (4 + sum(k.startswith("cpu ") for k in next(iter(split.values())))) + "| --- |",
        ]
        for size, figures in split.items():
            lines.append(f"| {size} | " + " | ".join(f"{v:.1f}" for v in figures.values()) + " |")
    if AGREEMENT.exists():
        agreement = json.loads(AGREEMENT.read_text())
        reference = agreement["reference"]
        lines += [
            "",
            f"Accuracy against eager fp32 on {agreement['dataset']} {agreement['split']} ({agreement['images']} "
            f"images; {AGREEMENT.relative_to(REPO_ROOT)}): reference mIoU {reference['miou']:.4f}.",
            "",
            "| form | mIoU | change | pixels agreeing with fp32 |",
            "| --- | --- | --- | --- |",
        ]
        for name, figures in agreement.items():
            if isinstance(figures, dict) and "pixel_agreement" in figures:
                lines.append(
                    f"| {name} | {figures['miou']:.4f} | {figures['miou_change']:+.4f} | "
                    f"{figures['pixel_agreement']:.2%} |"
                )
    found: list[dict] = facts.get("overhead", [])  # type: ignore[assignment]
    if found:
        size = str(facts["overhead_size"])
        lines += [
            "",
            f"What serving adds to each model, at {size}, one request at a time, the three taking turns "
            f"(p50 ms; in-process: the served form in this process, `Segmenter.segment` on the decoded frame, and "
            f"the handler's whole work, image bytes in, mask PNG out):",
            "",
            f"| model | runtime | {SEGMENT} | {PIPELINE} | /predict | /predict / segment | {JPEG_UPLOAD} | "
            "JPEG / segment |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for entry in found:
            p50 = entry["p50"]
            lines.append(
                f"| {entry['model']} {entry['version']} | {entry['runtime']} | {p50[SEGMENT]:.1f} | "
                f"{p50[PIPELINE]:.1f} | {p50['/predict']:.1f} | {p50['/predict'] / p50[SEGMENT]:.2f} | "
                f"{p50[JPEG_UPLOAD]:.1f} | {p50[JPEG_UPLOAD] / p50[SEGMENT]:.2f} |"
            )
            if entry["model"] in OVERHEAD_TARGETS:
                limit = OVERHEAD_TARGETS[entry["model"]]
                text = f"{entry['model']}: /predict p50 (PNG upload) / in-process p50 at {size} <= {limit}"
                checks.append((text, p50["/predict"] / p50[SEGMENT], limit, "le"))
        split_rows = [(e["model"], e["breakdown"]) for e in found if "breakdown" in e]
        if split_rows:
            keys = list(split_rows[0][1])
            lines += ["", f"Where each model's request goes at {size} (medians of 20; CPU ms per request):", ""]
            lines += ["| model | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 1) + "|"]
            lines += [f"| {m} | " + " | ".join(f"{v:.1f}" for v in b.values()) + " |" for m, b in split_rows]
    lines += ["", "Targets:"]
    for text, value, limit, sense in checks:
        met = value <= limit if sense == "le" else value >= limit
        lines.append(f"- {text}: {value:.2f} ({'met' if met else 'missed'})")
    return "\n".join(lines)


def write_section(path: Path, section: str, command: str) -> None:
    """Replace the generated section of `path` (between BEGIN and END), or append one."""
    body = f"{BEGIN}\nGenerated by `{command}`; re-run it to refresh.\n\n{section}\n{END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + body + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text)


def main(args: argparse.Namespace) -> str:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the services it started on a plain kill too
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        processes: list = []
        try:
            url = args.url
            if url is None:
                url, processes = start_services(workdir)
            rows, facts = measure(
                url, workdir, processes, args.image, args.sizes, args.requests, args.runs, args.concurrency
            )
        finally:
            for process in processes:
                stop(process)
    section = report(rows, facts, args.concurrency)
    print("\n" + section)
    if not args.no_write:
        write_section(args.output, section, "python -m benchmarks.serving")
        print(f"\nwrote {args.output}")
    return section


if __name__ == "__main__":
    main(get_args_parser().parse_args())
