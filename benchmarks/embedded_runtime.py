"""The embedded runtime (`segmenter.embedded`: ONNX Runtime, NumPy, Pillow) timed in a process that never imports
PyTorch: milliseconds per frame at each size and the process's peak resident memory, as one JSON line.

    python -m benchmarks.embedded_runtime models/ddrnet23_slim_v1.0.int8.onnx --sizes 1024x512 480x360 --runs 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.measure import peak_rss_mb, timed
from segmenter.embedded import EmbeddedSegmenter

FRAME = Path(__file__).resolve().parents[1] / "streamlit/samples/camvid_0016E5_07959.jpg"


def measure(
    graph: str, sizes: list[tuple[int, int]], runs: int, threads: int | None, short_side: int | None = None
) -> dict[str, float | bool]:
    segmenter = EmbeddedSegmenter.load(graph, threads)
    if short_side:
        segmenter.config = replace(segmenter.config, short_side=short_side)
    source = Image.open(FRAME).convert("RGB")
    result: dict[str, float | bool] = {}
    for width, height in sizes:
        rgb = np.asarray(source.resize((width, height), Image.Resampling.BILINEAR))
        result[f"{width}x{height}"] = statistics.median(timed(partial(segmenter.segment, rgb), runs)) * 1000
    result["peak_rss_mb"] = peak_rss_mb()
    result["torch_imported"] = "torch" in sys.modules
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", help="an .onnx graph (its .onnx.json beside it) or a shipped model's name")
    p.add_argument("--sizes", nargs="+", default=["1024x512"], help="frame sizes, WIDTHxHEIGHT")
    p.add_argument("--runs", type=int, default=20, help="timed frames per size (after one warm-up)")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads (default: every core)")
    p.add_argument("--short-side", type=int, help="inference scale (default: the model's)")
    args = p.parse_args()
    sizes = [(int(w), int(h)) for w, h in (s.split("x") for s in args.sizes)]
    print(json.dumps(measure(args.graph, sizes, args.runs, args.threads, args.short_side)))


if __name__ == "__main__":
    main()
