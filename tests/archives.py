"""Small model archives for the serving tests: a tiny U-Net whose head answers one category everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from training import archive
from training.checkpoints import model_config, model_from_config


def write_constant_model(folder: Path, category: int, short_side: int = 64) -> tuple[Path, Path]:
    """Weights + config of a unet_mini (width 0.25) that predicts `category` for every pixel."""
    folder.mkdir(parents=True, exist_ok=True)
    config = model_config("unet_mini", {"width": 0.25}, short_side, "fixture")
    state = model_from_config(config).state_dict()
    state["net.head.weight"] = torch.zeros_like(state["net.head.weight"])
    state["net.head.bias"] = torch.full_like(state["net.head.bias"], -10.0)
    state["net.head.bias"][category] = 10.0
    weights, config_path = folder / f"constant_{category}.safetensors", folder / f"constant_{category}.json"
    save_file({k: v.contiguous() for k, v in state.items()}, weights)
    config_path.write_text(json.dumps(config))
    return weights, config_path


def build_constant_archive(model_store: Path, category: int, version: str, filename: str, *extra: str) -> Path:
    """model_store/<filename> holding model 'roadseg' at `version` that answers `category` everywhere."""
    staging = model_store.parent / f"staging_{version}"
    weights, config = write_constant_model(staging, category)
    argv = ["--weights", str(weights), "--config", str(config), "--name", "roadseg", "--version", version,
            "--export-path", str(staging), *extra]
    built = archive.build_archive(archive.get_args_parser().parse_args(argv))
    model_store.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(built, model_store / filename))
