"""INT8 static quantisation with ONNX Runtime's tools, and the check that decides whether it ships.

    python -m training.quantize --weights models/vgg16_unet_v3.0.safetensors --dataset cityscapes \
        --data-root ../shared/data/cityscapes --output models/vgg16_unet_v3.0.int8.onnx

Exports the fp32 graph (`training.onnx_export`), quantises it to QDQ INT8 (per-channel signed weights,
unsigned activations, MinMax ranges calibrated on evenly spaced training images prepared as the handler
prepares them), then compares it with eager fp32 PyTorch on the validation split (`training.agreement`).
Writes OUTPUT and OUTPUT.json (calibration, figures, and `within_tolerance`); exits non-zero when the mIoU
falls by more than --tolerance.

Weights use 7 of their 8 bits (`reduce_range`): on x86 CPUs without VNNI, ONNX Runtime's u8 x s8 kernels
can saturate an intermediate 16-bit sum; with --full-range, version 2.0 lost 0.15 mIoU on CamVid val.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from segmenter.onnx_model import INPUT_NAME, OnnxModel
from segmenter.weights import load_model
from training.agreement import Variant, agreement_on_split, split_loader
from training.datasets import DATASETS, build_dataset
from training.onnx_export import export_onnx
from training.presets import EvalPreset

SETTINGS = {
    "format": "QDQ",
    "weights": "int8, per channel, reduce_range (7 bits)",
    "activations": "uint8, per tensor",
    "calibration": "MinMax",
}


class ImageReader(CalibrationDataReader):
    """Feeds ONNX Runtime's calibrator one prepared image at a time."""

    def __init__(self, images: list[np.ndarray]):
        self.images: Iterator[np.ndarray] = iter(images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        image = next(self.images, None)
        return None if image is None else {INPUT_NAME: image[None]}


def calibration_images(dataset: str, root: Path, split: str, short_side: int, count: int) -> list[np.ndarray]:
    """`count` evenly spaced images of the split, each (3, H, W) as the handler prepares it."""
    images = build_dataset(dataset, root, split, EvalPreset(short_side))
    picks = np.linspace(0, len(images) - 1, num=min(count, len(images))).round().astype(int)
    return [images[int(i)][0].numpy() for i in dict.fromkeys(picks)]


def quantize_int8(fp32_onnx: Path, output: Path, images: list[np.ndarray], full_range: bool = False) -> Path:
    """Write `output`: the fp32 graph as QDQ INT8 (see SETTINGS), ranges calibrated on `images`; with
    `full_range`, weights use all 8 bits (for CPUs with VNNI, where the 16-bit sums cannot saturate)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Folds constants and infers shapes for the quantiser; the graph's H and W stay dynamic.
        quant_pre_process(str(fp32_onnx), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(output),
            ImageReader(images),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=not full_range,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    return output


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=Path, help="checkpoint or exported weights")
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset layout")
    p.add_argument("--data-root", required=True, type=Path, help="dataset root folder")
    p.add_argument("--calibration-split", default="train", help="split the calibration images come from")
    p.add_argument("--calibration-images", type=int, default=32, help="how many images calibrate the ranges")
    p.add_argument("--split", default="val", help="labelled split the INT8 model is checked on")
    p.add_argument("--limit", type=int, help="check on the first N images only")
    p.add_argument("--tolerance", type=float, default=0.01, help="largest mIoU drop accepted")
    p.add_argument(
        "--full-range", action="store_true", help="8-bit weights (VNNI CPUs); the default 7 bits avoid saturation"
    )
    p.add_argument("--output", required=True, type=Path, help="the INT8 .onnx to write")
    return p


def main(args: argparse.Namespace) -> dict[str, Any]:
    model, config = load_model(args.weights)
    images = calibration_images(
        args.dataset, args.data_root, args.calibration_split, config.short_side, args.calibration_images
    )
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(model, Path(tmp) / "fp32.onnx", config.short_side)
        quantize_int8(fp32, args.output, images, args.full_range)
    loader = split_loader(args.dataset, args.data_root, args.split, config.short_side, args.limit)
    int8 = Variant("onnxruntime int8", OnnxModel(args.output))
    figures = agreement_on_split(Variant("torch fp32", model), [int8], loader)
    change = figures[int8.name]["miou_change"]
    report = {
        "config": config.to_dict(),
        "weights": str(args.weights),
        "quantization": {
            **SETTINGS,
            **({"weights": "int8, per channel, full range (8 bits)"} if args.full_range else {}),
            "calibration_split": f"{args.dataset} {args.calibration_split}",
            "calibration_images": len(images),
        },
        "check": {"split": f"{args.dataset} {args.split}", "images": len(loader), **figures},
        "tolerance": args.tolerance,
        "within_tolerance": change >= -args.tolerance,
    }
    report_path = args.output.with_name(args.output.name + ".json")
    report_path.write_text(json.dumps(report, indent=2))
    print(
        f"wrote {args.output} ({args.output.stat().st_size / 2**20:.1f} MiB) and {report_path}: mIoU "
        f"{figures['reference']['miou']:.4f} (fp32) -> {figures[int8.name]['miou']:.4f} (int8), change {change:+.4f}, "
        f"pixels agree {figures[int8.name]['pixel_agreement']:.2%}"
    )
    if not report["within_tolerance"]:
        raise SystemExit(f"INT8 loses {-change:.4f} mIoU, more than the {args.tolerance} tolerance")
    return report


if __name__ == "__main__":
    main(get_args_parser().parse_args())
