"""Package a model as a TorchServe archive: model_store/<name>.mar with the segmentation handler.

    python -m training.archive --checkpoint runs/vgg16_unet/best.pt --version 1.0
    python -m training.archive --weights models/x.safetensors --config models/x.json --version 1.0
    python -m training.archive --init unet_mini --width 0.25 --version 0.1   # untrained, for wiring tests

The archive holds the weights (safetensors), model_config.json (registry name, builder kwargs, inference
scale, name, version) and model-config.yaml (TorchServe batching and workers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from training.checkpoints import cast_floating, load_checkpoint, model_config, model_from_config
from training.image_io import DEFAULT_MAX_PIXELS
from training.models import MODEL_REGISTRY
from training.presets import DATASET_SCALES

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDLER = REPO_ROOT / "handler" / "segmentation_handler.py"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a checkpoint written by training.train")
    source.add_argument("--weights", type=Path, help="safetensors weights (with --config)")
    source.add_argument("--init", choices=sorted(MODEL_REGISTRY), help="a freshly initialised model of this name")
    p.add_argument("--config", type=Path, help="model config JSON for --weights")
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (with --init)")
    p.add_argument("--short-side", type=int, default=DATASET_SCALES["camvid"].short_side,
                   help="inference scale (with --init)")
    p.add_argument("--name", default="roadseg", help="model name in TorchServe")
    p.add_argument("--version", default="1.0", help="model version in TorchServe")
    p.add_argument("--export-path", type=Path, default=REPO_ROOT / "model_store", help="folder for the .mar")
    p.add_argument("--file-name", help="archive file name (default: NAME.mar), e.g. roadseg_v2.0.mar")
    p.add_argument("--half", action="store_true", help="store the weights in fp16 (loaded back as fp32)")
    p.add_argument("--batch-size", type=int, default=4, help="TorchServe batch size")
    p.add_argument("--max-batch-delay", type=int, default=20, help="ms TorchServe waits to fill a batch")
    p.add_argument("--workers", type=int, default=1, help="TorchServe workers (min = max)")
    p.add_argument("--response-timeout", type=int, default=60, help="seconds before TorchServe fails a request")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="largest image the handler decodes")
    p.add_argument("--seed", type=int, default=0, help="random seed (with --init)")
    return p


def load_source(args: argparse.Namespace) -> tuple[dict, dict[str, torch.Tensor]]:
    """(model config, state dict) from a checkpoint, from weights + config, or from a fresh model."""
    if args.checkpoint:
        checkpoint = load_checkpoint(args.checkpoint)
        return checkpoint["config"], checkpoint["model"]
    if args.weights:
        if not args.config:
            raise SystemExit("--weights needs --config")
        return json.loads(args.config.read_text()), load_file(args.weights)
    torch.manual_seed(args.seed)
    config = model_config(args.init, {"width": args.width}, args.short_side, dataset="none (untrained)")
    return config, model_from_config(config).state_dict()


def model_archiver() -> list[str]:
    local = Path(sys.executable).parent / "torch-model-archiver"
    found = str(local) if local.exists() else shutil.which("torch-model-archiver")
    if not found:
        raise SystemExit("torch-model-archiver not found: pip install torch-model-archiver")
    return [found]


def build_archive(args: argparse.Namespace) -> Path:
    config, state = load_source(args)
    model_from_config(config, cast_floating(state, torch.float32))  # fail here, not in TorchServe
    tensors = cast_floating(state, torch.float16 if args.half else torch.float32)
    archive_config = {**config, "name": args.name, "version": args.version, "max_pixels": args.max_pixels}
    args.export_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        save_file(tensors, staging / "weights.safetensors")
        (staging / "model_config.json").write_text(json.dumps(archive_config, indent=2))
        (staging / "model-config.yaml").write_text(
            f"minWorkers: {args.workers}\nmaxWorkers: {args.workers}\nbatchSize: {args.batch_size}\n"
            f"maxBatchDelay: {args.max_batch_delay}\nresponseTimeout: {args.response_timeout}\n"
        )
        subprocess.run(
            model_archiver() + [
                "--model-name", args.name, "--version", args.version,
                "--serialized-file", str(staging / "weights.safetensors"),
                "--handler", str(HANDLER),
                "--extra-files", str(staging / "model_config.json"),
                "--config-file", str(staging / "model-config.yaml"),
                "--export-path", str(args.export_path), "--force",
            ],
            check=True,
        )
    path = args.export_path / f"{args.name}.mar"
    if args.file_name and args.file_name != path.name:
        path = path.replace(args.export_path / args.file_name)
    print(f"wrote {path} ({config['model']} {config.get('model_kwargs', {})}, version {args.version})")
    return path


if __name__ == "__main__":
    build_archive(get_args_parser().parse_args())
