"""Checkpoints: the model's config travels with its weights, so anyone can rebuild it by name."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from training.models import SegmentationModel, build_model


def model_config(model_name: str, model_kwargs: dict, short_side: int, dataset: str) -> dict:
    """What it takes to rebuild and feed a model: registry name, builder kwargs, inference scale."""
    return {"model": model_name, "model_kwargs": dict(model_kwargs), "short_side": short_side, "dataset": dataset}


def save_checkpoint(path: Path, model: torch.nn.Module, config: dict, **state: Any) -> None:
    """Write atomically (a crash mid-write never leaves a truncated checkpoint)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": config, "model": model.state_dict(), **state}, tmp)
    os.replace(tmp, path)


def cast_floating(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The state dict with its floating tensors in `dtype` (integer buffers untouched), contiguous."""
    return {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def load_checkpoint(path: str | Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """fp32 model weights from a training checkpoint (.pt) or exported safetensors."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return cast_floating(load_file(path), torch.float32)
    return cast_floating(load_checkpoint(path)["model"], torch.float32)


def model_from_config(config: dict, state_dict: dict | None = None) -> SegmentationModel:
    model = build_model(config["model"], **config.get("model_kwargs", {}))
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


def load_model(path: str | Path) -> tuple[SegmentationModel, dict]:
    """Rebuild a model in eval mode from a checkpoint, or from exported weights (X.safetensors beside its
    X.json config, as in models/); returns (model, config)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        config = json.loads(path.with_suffix(".json").read_text())
        return model_from_config(config, load_weights(path)).eval(), config
    checkpoint = load_checkpoint(path)
    model = model_from_config(checkpoint["config"], checkpoint["model"])
    return model.eval(), checkpoint["config"]
