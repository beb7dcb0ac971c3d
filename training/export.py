"""Export a checkpoint's weights compactly for shipping: fp16 safetensors + the model config as JSON.

    python -m training.export --checkpoint runs/vgg16_unet_w0.5/best.pt --output models/vgg16_unet

    python -m training.export --onnx --checkpoint models/vgg16_unet_v3.0.safetensors --output /tmp/vgg16_unet_v3.0 \
        --check-images ../shared/data/camvid/val

Writes OUTPUT.safetensors (no optimiser state, no history) and OUTPUT.json (registry name, builder
kwargs, inference scale, dataset, best epoch and its validation figures). With --onnx: OUTPUT.onnx
(opset from torch's exporter; dynamic batch, height and width) and OUTPUT.onnx.json, the check of
ONNX Runtime against PyTorch on real images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from roadseg.model_config import ModelConfig
from segmenter.models import display_name
from segmenter.weights import cast_floating, load_checkpoint, load_model, model_from_config
from training.onnx_export import MIN_MASK_AGREEMENT, export_onnx, onnx_agreement


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint written by training.train")
    p.add_argument("--output", required=True, type=Path, help="output path without suffix")
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (default: fp16, half the size)")
    p.add_argument(
        "--onnx",
        action="store_true",
        help="write OUTPUT.onnx instead (dynamic batch, height and width; also from exported "
        ".safetensors), checked against PyTorch on --check-images; the check goes to OUTPUT.onnx.json",
    )
    p.add_argument(
        "--check-images",
        type=Path,
        help="folder of real road images for the ONNX check (required with --onnx), e.g. a dataset's val images",
    )
    return p


def main(args: argparse.Namespace) -> tuple[Path, Path]:
    if args.onnx and args.check_images is None:
        raise SystemExit("--onnx needs --check-images: a folder of real road images to check the graph on")
    if args.onnx:
        return write_onnx(args.checkpoint, args.output, args.check_images)
    checkpoint = load_checkpoint(args.checkpoint)
    config = ModelConfig.from_dict(checkpoint["config"])
    model_from_config(config, checkpoint["model"])  # the weights fit the config
    dtype = torch.float32 if args.fp32 else torch.float16
    tensors = cast_floating(checkpoint["model"], dtype)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Not with_suffix: a version in the name ("vgg16_unet_v2.0") is not a suffix to replace.
    weights, config_path = (args.output.with_name(args.output.name + suffix) for suffix in (".safetensors", ".json"))
    save_file(tensors, weights)
    metrics = checkpoint.get("metrics", {})
    config_path.write_text(
        json.dumps(
            {
                **config.to_dict(),
                "display_name": display_name(config.model, config.width),
                "best_epoch": checkpoint.get("epoch"),
                "val_miou": metrics.get("miou"),
                "val_mdice": metrics.get("mdice"),
                "val_loss": checkpoint.get("val_loss"),
            },
            indent=2,
        )
    )
    print(f"wrote {weights} ({weights.stat().st_size / 2**20:.1f} MiB) and {config_path}")
    return weights, config_path


def write_onnx(checkpoint: Path, output: Path, check_images: Path) -> tuple[Path, Path]:
    """OUTPUT.onnx and OUTPUT.onnx.json (the check against PyTorch on `check_images`' files); exits non-zero if
    they disagree."""
    model, config = load_model(checkpoint)
    onnx_path = export_onnx(model, output.with_name(output.name + ".onnx"), config.short_side)
    images = sorted(p for p in check_images.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    check = {"config": config.to_dict(), **onnx_agreement(model, onnx_path, images, config.short_side)}
    report = onnx_path.with_name(onnx_path.name + ".json")
    report.write_text(json.dumps(check, indent=2))
    print(
        f"wrote {onnx_path} ({onnx_path.stat().st_size / 2**20:.1f} MiB): on {check['images']} images, largest "
        f"logit difference {check['max_abs_logit_diff']:.2e}, masks agree on {check['mask_agreement']:.4%}"
    )
    if check["mask_agreement"] < MIN_MASK_AGREEMENT:
        raise SystemExit(f"ONNX Runtime and PyTorch disagree on {1 - check['mask_agreement']:.2%} of the pixels")
    return onnx_path, report


if __name__ == "__main__":
    main(get_args_parser().parse_args())
