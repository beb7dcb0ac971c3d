"""Export a checkpoint's weights compactly for shipping: fp16 safetensors + the model config as JSON.

    python -m training.export --checkpoint runs/vgg16_unet_w0.5/best.pt --output models/vgg16_unet

Writes OUTPUT.safetensors (no optimiser state, no history) and OUTPUT.json (registry name, builder
kwargs, inference scale, dataset, best epoch and its validation figures).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from roadseg.model_config import ModelConfig
from training.checkpoints import cast_floating, load_checkpoint, model_from_config
from training.models import display_name


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint written by training.train")
    p.add_argument("--output", required=True, type=Path, help="output path without suffix")
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (default: fp16, half the size)")
    return p


def main(args: argparse.Namespace) -> tuple[Path, Path]:
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


if __name__ == "__main__":
    main(get_args_parser().parse_args())
