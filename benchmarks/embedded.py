"""The embedded table (docs/EMBEDDED.md): each model's size, cost, speed on this CPU and accuracy on the val cities.
Not a test: it measures, prints and writes the page.

    python -m benchmarks.embedded --dataset cityscapes --data-root ../shared/data/cityscapes \
        --work-dir RUNS/embedded      (make embedded: every shipped Cityscapes model and the other candidates)
    python -m benchmarks.embedded --models models/ddrnet23_slim_v1.0.safetensors --architectures pspnet_resnet18 ...

For each model (exported weights, or a training run's best.pt):
- accuracy: mIoU over the 7 categories (void ignored) and per category on the val split, at the labels' size, in
  eager fp32; its INT8 graph (`training.quantize`'s recipe, 32 calibration images from train) and bf16 (where the
  CPU has it natively) beside it: mIoU change and pixel agreement (`training.agreement`). Cached per model in
  WORK_DIR until the weights change.
- size: parameters, the fp32 safetensors and INT8 ONNX files, MACs at a 1024x512 input and as served (at the
  model's inference scale, for a 1024x512 frame).
- speed: per frame in-process (`Segmenter.segment`: resize to the inference scale, model, logits to the frame's
  size, argmax) at 1024x512 and 480x360, median of --runs, for eager fp32, INT8 ONNX Runtime and bf16 where native.
  Each runtime runs in a fresh process whose peak resident memory is reported (Python, PyTorch and ONNX Runtime
  included); frames per second are 1000 / the best median at 1024x512.
Each of --architectures (a candidate whose trained weights were not kept) is measured untrained for size, speed and
memory, which do not depend on the weights' values; its accuracy is its row of the comparison (--comparison, the
CSV `training.compare` wrote), and its INT8 and bf16 accuracy are not measured.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image
from safetensors.torch import save_file

from benchmarks.measure import cpu_name, model_macs, peak_rss_mb, timed
from roadseg.catalogue import SHIPPED_MODELS
from roadseg.categories import CATEGORY_NAMES, VOID_ID
from roadseg.model_config import ModelConfig
from segmenter.models import MODEL_REGISTRY, display_name
from segmenter.models.base import SegmentationModel
from segmenter.onnx_model import OnnxModel, cpu_threads
from segmenter.precision import cpu_has_bf16, prepare_model
from segmenter.segmenter import Segmenter, prepare_rgb
from segmenter.weights import load_config, load_model, model_from_config
from training.agreement import Variant, agreement_on_split, split_loader
from training.datasets import DATASETS
from training.onnx_export import export_onnx
from training.quantize import calibration_images, quantize_int8
from training.recipes import load_recipe

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAME = REPO_ROOT / "streamlit/samples/camvid_0016E5_07959.jpg"  # a road frame, resized to each size
SIZES = ((1024, 512), (480, 360))
FP32, INT8, BF16 = "fp32", "INT8 ONNX Runtime", "bf16"
TARGET_MS = 100.0  # the real-time model's budget per 1024x512 frame on 2 cores (issue: embedded model)
AGREEMENT_GATE = 0.01  # largest mIoU loss at which INT8 is served (`training.quantize`'s tolerance)
COMPARISON = REPO_ROOT / "docs" / "realtime_comparison.csv"
REALTIME_COMPARISON = REPO_ROOT / "recipes" / "comparisons" / "realtime.toml"
UNCHECKED = " (accuracy unchecked)"  # marks a best form chosen on speed alone: an architecture row's
Loaded: TypeAlias = tuple[SegmentationModel, ModelConfig]  # load_model's answer: a model in eval mode, its config
CATEGORIES = [name for i, name in enumerate(CATEGORY_NAMES) if i != VOID_ID]
SERVED_NOTE = (
    "The same graphs served (the gateway and TorchServe around them): each model's `POST /predict` against its "
    "in-process time, and a clip through `POST /videos` against the same clip in-process, in "
    "[BENCHMARKS.md](BENCHMARKS.md) (`make bench`, `make bench-video`)."
)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--models",
        nargs="+",
        type=Path,
        help="exported weights or runs' best.pt (default: every shipped model trained on --dataset, catalogue order)",
    )
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset layout of the val split")
    p.add_argument("--data-root", required=True, type=Path, help="dataset root folder")
    p.add_argument(
        "--architectures",
        nargs="*",
        choices=sorted(MODEL_REGISTRY),
        help="candidates without kept weights: measured untrained; accuracy from --comparison (default: the "
        "real-time comparison's candidates, recipes/comparisons/realtime.toml, other than --models' architectures)",
    )
    p.add_argument("--comparison", type=Path, default=COMPARISON, help="training.compare's CSV of --architectures")
    p.add_argument("--short-side", type=int, default=256, help="inference scale of --architectures (the comparison's)")
    p.add_argument("--limit", type=int, help="evaluate on the first N val images only (a quick look)")
    p.add_argument("--runs", type=int, default=20, help="timed frames per model, runtime and size")
    p.add_argument("--work-dir", required=True, type=Path, help="INT8 graphs and cached accuracy figures")
    p.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "EMBEDDED.md", help="the page to write")
    return p


def shipped_sources(dataset: str) -> list[Path]:
    """The weights of every shipped model first trained on `dataset`, in the catalogue's order."""
    return [model.weights for model in SHIPPED_MODELS if model.dataset.split("+")[0] == dataset]


def candidates(models: list[Path]) -> list[str]:
    """The real-time comparison's candidate architectures that no row of `models` already is."""
    measured = {load_config(source).model for source in models}
    variants = load_recipe(REALTIME_COMPARISON).variants.values()
    return [variant["model"] for variant in variants if variant["model"] not in measured]


def model_key(source: Path) -> str:
    """models/vgg16_unet_v3.0.safetensors -> vgg16_unet_v3.0; RUNS/realtime/ddrnet23_slim/best.pt -> ddrnet23_slim."""
    return source.parent.name if source.suffix == ".pt" else source.stem


def int8_graph(loaded: Loaded, dataset: str, root: Path, work: Path) -> Path:
    """work/int8.onnx (`training.quantize`'s recipe, 32 calibration images from train) and work/fp32.safetensors."""
    work.mkdir(parents=True, exist_ok=True)
    model, config = loaded
    save_file({k: v.float().contiguous() for k, v in model.state_dict().items()}, work / "fp32.safetensors")
    int8 = work / "int8.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(model, Path(tmp) / "fp32.onnx", config.short_side)
        quantize_int8(fp32, int8, calibration_images(dataset, root, "train", config.short_side, 32))
    (work / "int8.onnx.json").write_text(json.dumps({"config": config.to_dict()}))  # Segmenter.load reads it
    return int8


def accuracy(source: Path, loaded: Loaded, dataset: str, root: Path, work: Path, limit: int | None) -> dict[str, Any]:
    """fp32 figures on the val split, INT8's and native bf16's beside them, and the file sizes; cached in `work`."""
    cache = work / "accuracy.json"
    if cache.exists() and cache.stat().st_mtime >= source.stat().st_mtime:
        cached: dict[str, Any] = json.loads(cache.read_text())
        if cached.get("limit") == limit:
            return cached
    model, config = loaded
    int8 = int8_graph(loaded, dataset, root, work)
    variants = [Variant(INT8, OnnxModel(int8))]
    if cpu_has_bf16():
        variants.append(Variant(BF16, prepare_model(copy.deepcopy(model), "bf16"), "bf16"))
    loader = split_loader(dataset, root, "val", config.short_side, limit)
    figures = agreement_on_split(Variant(FP32, model), variants, loader)
    result = {
        "source": str(source),
        "config": config.to_dict(),
        "limit": limit,
        "images": len(loader),
        "figures": figures,
        "fp32_mb": (work / "fp32.safetensors").stat().st_size / 1e6,
        "int8_mb": int8.stat().st_size / 1e6,
    }
    cache.write_text(json.dumps(result, indent=2))
    return result


def untrained(name: str, short_side: int, dataset: str, work: Path) -> Path:
    """An architecture with seeded random weights, as exported weights (work/untrained.safetensors + .json)."""
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = ModelConfig(name, {"width": 1.0}, short_side, dataset)
    model = model_from_config(config)
    source = work / "untrained.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, source)
    source.with_suffix(".json").write_text(config.to_json())
    return source


def comparison_accuracy(csv_path: Path, name: str) -> dict[str, Any]:
    """The comparison's figures for the model shown as `name`, in `agreement_on_split`'s 'reference' form."""
    with open(csv_path, newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["model"] == name]
    if not rows:
        comparison = "make grid RECIPE=recipes/comparisons/realtime.toml"
        raise SystemExit(f"{csv_path}: no row for {name}; run its comparison first ({comparison})")
    row = rows[-1]
    return {"miou": float(row["miou"]), "iou": {c: float(row[c]) for c in CATEGORIES}}


def shown_path(path: Path) -> str:
    """`path` as the page shows it: relative to the repository when inside it (the page is committed)."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


@dataclass(frozen=True)
class Bench:
    """Where and how each row is measured."""

    dataset: str  # the val split's layout
    data_root: Path
    work_dir: Path  # INT8 graphs and cached accuracy figures
    runs: int  # timed frames per model, runtime and size
    limit: int | None = None  # evaluate on the first N val images only
    short_side: int = 256  # inference scale of the architectures without weights
    comparison: Path = COMPARISON  # training.compare's CSV, for those architectures' accuracy


def architecture_row(name: str, reference: dict[str, Any], args: Bench) -> dict[str, Any]:
    """An untrained architecture's size, cost and speed, beside `reference`: the comparison's accuracy for it."""
    work = args.work_dir / name
    source = untrained(name, args.short_side, args.dataset, work)
    loaded = load_model(source)
    row = {"key": name, "from_comparison": True, **cost(loaded)}
    int8_graph(loaded, args.dataset, args.data_root, work)
    row["accuracy"] = {
        "source": shown_path(args.comparison),
        "figures": {"reference": reference},
        "fp32_mb": (work / "fp32.safetensors").stat().st_size / 1e6,
        "int8_mb": (work / "int8.onnx").stat().st_size / 1e6,
    }
    row["speed"] = speed(source, work, args.runs)
    return row


def size_key(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def frame(size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.open(FRAME).convert("RGB").resize(size, Image.Resampling.BILINEAR))


def time_runtime(
    path: str, precision: str, sizes: tuple[tuple[int, int], ...], runs: int, threads: int
) -> dict[str, Any]:
    """In a fresh process: median ms per frame at each size, and the process's peak resident memory (MB)."""
    torch.set_num_threads(threads)
    segmenter = Segmenter.load(path, threads=threads, precision=precision)
    result: dict[str, Any] = {"runtime": segmenter.describe()}
    for size in sizes:
        rgb = frame(size)
        result[size_key(size)] = statistics.median(timed(partial(segmenter.segment, rgb), runs)) * 1000
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def speed(source: Path, work: Path, runs: int) -> dict[str, dict[str, Any]]:
    """{runtime: time_runtime(...)} for eager fp32, INT8 ONNX Runtime and (native) bf16, each in its own process."""
    threads = cpu_threads()
    runtimes = {FP32: (str(source), "fp32"), INT8: (str(work / "int8.onnx"), "fp32")}
    if cpu_has_bf16():
        runtimes[BF16] = (str(source), "bf16")
    spawn = multiprocessing.get_context("spawn")
    found = {}
    for name, (path, precision) in runtimes.items():
        with spawn.Pool(1) as pool:
            found[name] = pool.apply(time_runtime, (path, precision, SIZES, runs, threads))
        print(f"  {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in found[name].items() if isinstance(v, float)))
    return found


def embedded_speed(graph: Path, runs: int) -> dict[str, Any]:
    """The INT8 graph on the embedded runtime (`benchmarks.embedded_runtime`), in a process without PyTorch."""
    sizes = [f"{w}x{h}" for w, h in SIZES]
    command = [sys.executable, "-m", "benchmarks.embedded_runtime", str(graph), "--sizes", *sizes, "--runs", str(runs)]
    found: dict[str, Any] = json.loads(
        subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    )
    if found.pop("torch_imported"):
        raise RuntimeError("the embedded runtime imported PyTorch")
    print("  embedded: " + ", ".join(f"{k} {v:.1f}" for k, v in found.items()))
    return found


def install_mb(extra: str) -> float:
    """MB on disk of the installed distributions that this project's core and `extra` pull in, transitively."""
    pending = [Requirement(r) for r in metadata.requires("roadseg") or []]
    pending = [r for r in pending if r.marker is None or r.marker.evaluate({"extra": extra})]
    seen: set[str] = set()
    total = 0
    while pending:
        name = canonicalize_name(pending.pop().name)
        if name in seen or name == "roadseg":
            continue
        seen.add(name)
        distribution = metadata.distribution(name)
        files = [Path(str(distribution.locate_file(f))) for f in distribution.files or []]
        total += sum(f.stat().st_size for f in files if f.is_file())
        requirements = [Requirement(r) for r in distribution.requires or []]
        pending += [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]
    return total / 1e6


def cost(loaded: Loaded) -> dict[str, Any]:
    """Parameters, MACs at the first size's input (1024x512) and at the input such a frame is served at."""
    model, config = loaded
    served = prepare_rgb(frame(SIZES[0]), config.short_side).tensor
    assert served is not None
    height, width = served.shape[-2:]
    return {
        "name": display_name(config.model, config.width),
        "dataset": config.dataset,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "gmacs_full": model_macs(model, SIZES[0][1], SIZES[0][0]) / 1e9,
        "served_input": f"{width}x{height}",
        "gmacs_served": model_macs(model, height, width) / 1e9,
    }


def measure(models: list[Path], architectures: list[str], args: Bench) -> list[dict[str, Any]]:
    # every architecture's comparison row first: a missing one stops the run before any measuring
    references = {name: comparison_accuracy(args.comparison, display_name(name)) for name in architectures}
    rows = []
    for source in models:
        key = model_key(source)
        print(f"{key} ({source})")
        loaded = load_model(source)
        row = {"key": key, **cost(loaded)}
        row["accuracy"] = accuracy(source, loaded, args.dataset, args.data_root, args.work_dir / key, args.limit)
        row["speed"] = speed(source, args.work_dir / key, args.runs)
        row["embedded"] = embedded_speed(args.work_dir / key / "int8.onnx", args.runs)
        rows.append(row)
    for name in architectures:
        print(f"{name} (untrained; accuracy from {args.comparison})")
        rows.append(architecture_row(name, references[name], args))
    return rows


def _best(row: dict[str, Any]) -> tuple[str, float]:
    """The runtime with the lowest median at the first size among those whose accuracy holds (within the gate);
    for an architecture row, whose INT8 and bf16 accuracy is not measured, the fastest."""
    figures, first = row["accuracy"]["figures"], size_key(SIZES[0])
    unchecked = row.get("from_comparison", False)
    allowed = [r for r in row["speed"] if unchecked or r == FP32 or figures[r]["miou_change"] >= -AGREEMENT_GATE]
    best = min(allowed, key=lambda r: row["speed"][r][first])
    return best, row["speed"][best][first]


def report(rows: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    """The page: the embedded table, per-category IoU, INT8 agreement, and how it was measured."""
    runtimes = [FP32, INT8] + ([BF16] if machine["bf16"] else [])
    lat = " | ".join(f"{r} {size_key(s)}" for s in SIZES for r in runtimes)
    lines = [
        f"| Model | Params (M) | GMACs {size_key(SIZES[0])} | Served input | GMACs served | fp32 MB | INT8 MB | "
        f"{lat} | Best form | fps | Peak RSS MB | mIoU7 | INT8 mIoU7 change | INT8 pixel agreement |",
        "|" + " --- |" * (13 + len(SIZES) * len(runtimes)),
    ]
    for row in rows:
        accuracy, speed = row["accuracy"], row["speed"]
        figures = accuracy["figures"]
        best, best_ms = _best(row)
        unchecked = UNCHECKED if row.get("from_comparison") and best != FP32 else ""
        int8 = figures.get(INT8)
        agreement = f"{int8['miou_change']:+.3f} | {int8['pixel_agreement']:.2%}" if int8 else "not measured | –"
        mark = " †" if row.get("from_comparison") else ""
        times = " | ".join(f"{speed[r][size_key(s)]:.0f}" for s in SIZES for r in runtimes)
        sizes = f"{accuracy['fp32_mb']:.1f} | {accuracy['int8_mb']:.1f}"
        lines.append(
            f"| {row['name']} (`{row['key']}`) | {row['params_m']:.2f} | {row['gmacs_full']:.1f} | "
            f"{row['served_input']} | {row['gmacs_served']:.1f} | {sizes} | "
            f"{times} | {best}{unchecked} | {1000 / best_ms:.1f} | {speed[best]['peak_rss_mb']:.0f} | "
            f"{figures['reference']['miou']:.3f}{mark} | {agreement} |"
        )
    per_category = [
        "| Model | " + " | ".join(CATEGORIES) + " | mIoU7 |",
        "|" + " --- |" * (len(CATEGORIES) + 2),
    ]
    for row in rows:
        reference = row["accuracy"]["figures"]["reference"]
        ious = " | ".join(
            f"{reference['iou'][c]:.3f}" if reference["iou"][c] is not None else "n/a" for c in CATEGORIES
        )
        mark = " †" if row.get("from_comparison") else ""
        per_category.append(f"| {row['name']}{mark} | {ious} | {reference['miou']:.3f} |")
    images = {row["accuracy"]["images"] for row in rows if "images" in row["accuracy"]}
    sources = sorted({row["accuracy"]["source"] for row in rows if row.get("from_comparison")})
    dagger = (
        [
            f"† Trained weights not kept: size, speed and memory measured on the untrained architecture (they do not "
            f"depend on the weights' values); accuracy is the model's row of its comparison ({', '.join(sources)}: a "
            "short training run from scratch, so below what a long run reaches); INT8's and bf16's not measured.",
            "",
        ]
        if sources
        else []
    )
    return "\n".join(
        [
            "# The embedded table",
            "",
            "Generated by `make embedded` (`python -m benchmarks.embedded`); re-run it to refresh. Every figure below "
            f"comes from that one run on one machine: {machine['cpu']}, {machine['threads']} threads, bf16 "
            f"{'native' if machine['bf16'] else 'not native (left out)'}.",
            "",
            "Latency is milliseconds per frame in-process (resize to the model's inference scale, model, logits to the "
            "frame's size, argmax), median of the timed frames; each runtime in its own process. *Best form* is the "
            f"fastest runtime whose mIoU stays within {AGREEMENT_GATE} of fp32; fps and peak resident memory (the "
            f"whole process: Python, PyTorch, ONNX Runtime) are that form's at {size_key(SIZES[0])}. mIoU7 is the 7 "
            f"categories' mean IoU (void ignored) on the {'/'.join(map(str, sorted(images)))} val-city images at the "
            "labels' size, fp32.",
            "",
            *lines,
            "",
            *dagger,
            "## Per category (IoU, val cities, fp32)",
            "",
            *per_category,
            "",
            f"Target for the real-time model: at most {TARGET_MS:.0f} ms per 1024x512 frame (>= "
            f"{1000 / TARGET_MS:.0f} fps) on 2 cores, and an mIoU7 at most 0.02 below roadseg's (the VGG16 U-Net's).",
            "",
            *embedded_section(rows, machine),
        ]
    )


def embedded_section(rows: list[dict[str, Any]], machine: dict[str, Any]) -> list[str]:
    """The same INT8 graphs on the embedded runtime (no PyTorch) beside the PyTorch process's ONNX Runtime."""
    lines = [
        "## The embedded runtime: no PyTorch",
        "",
        "`segmenter.embedded` (`python -m segmenter segment`): the INT8 graph above with ONNX Runtime, NumPy and "
        "Pillow only, in a process that never imports PyTorch (`benchmarks.embedded_runtime`), against the same "
        "graph in a process that loads the PyTorch runtime (`Segmenter`). Installed size of what each needs, from this "
        f"machine's packages: `pip install .[embedded]` {machine['install_mb']['embedded']:,.0f} MB, `.[runtime]` "
        f"{machine['install_mb']['runtime']:,.0f} MB (PyPI's PyTorch, CUDA libraries included).",
        "",
        "| Model | "
        + " | ".join(f"{label} {size_key(s)} ms" for label in ("PyTorch process", "embedded") for s in SIZES)
        + " | PyTorch process peak RSS MB | embedded peak RSS MB |",
        "|" + " --- |" * (3 + 2 * len(SIZES)),
    ]
    for row in rows:
        if "embedded" not in row:
            continue
        with_torch, embedded = row["speed"][INT8], row["embedded"]
        times = " | ".join(f"{source[size_key(s)]:.0f}" for source in (with_torch, embedded) for s in SIZES)
        lines.append(
            f"| {row['name']} (`{row['key']}`) | {times} | {with_torch['peak_rss_mb']:.0f} | "
            f"{embedded['peak_rss_mb']:.0f} |"
        )
    return [*lines, "", SERVED_NOTE, ""]


def main(args: argparse.Namespace) -> str:
    machine = {"cpu": cpu_name(), "threads": cpu_threads(), "bf16": cpu_has_bf16()}
    machine["install_mb"] = {extra: round(install_mb(extra), 1) for extra in ("embedded", "runtime")}
    models = args.models if args.models is not None else shipped_sources(args.dataset)
    architectures = args.architectures if args.architectures is not None else candidates(models)
    bench = Bench(args.dataset, args.data_root, args.work_dir, args.runs, args.limit, args.short_side, args.comparison)
    rows = measure(models, architectures, bench)
    page = report(rows, machine)
    args.output.write_text(page)
    args.output.with_suffix(".json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    print(f"\n{page}\nwrote {args.output} and {args.output.with_suffix('.json')}")
    return page


if __name__ == "__main__":
    main(get_args_parser().parse_args())
