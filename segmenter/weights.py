"""Trained weights and the config that rebuilds their model by name: from checkpoints (.pt) or exported
safetensors (X.safetensors beside its X.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from roadseg.model_config import ModelConfig
from segmenter.models import SegmentationModel, build_model


def cast_floating(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The state dict with its floating tensors in `dtype` (integer buffers untouched), contiguous."""
    return {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """fp32 model weights from a training checkpoint (.pt) or exported safetensors."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return cast_floating(load_file(path), torch.float32)
    return cast_floating(load_checkpoint(path)["model"], torch.float32)


def model_from_config(config: ModelConfig, state_dict: dict[str, torch.Tensor] | None = None) -> SegmentationModel:
    """The registered model; `state_dict` (fp16 or fp32) is copied into its fp32 parameters."""
    model = build_model(config.model, **config.model_kwargs)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


def load_config(path: str | Path) -> ModelConfig:
    """The config of a checkpoint or of exported weights (X.json beside X.safetensors), without building the model."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return ModelConfig.read(path.with_suffix(".json"))
    return ModelConfig.from_dict(load_checkpoint(path)["config"])


def load_source(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """(config, fp32 weights) from a checkpoint, or from exported weights (X.safetensors beside its X.json)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return ModelConfig.read(path.with_suffix(".json")), load_weights(path)
    checkpoint = load_checkpoint(path)
    return ModelConfig.from_dict(checkpoint["config"]), cast_floating(checkpoint["model"], torch.float32)


def load_model(path: str | Path) -> tuple[SegmentationModel, ModelConfig]:
    """Rebuild a model in eval mode from a checkpoint or from exported weights; returns (model, config)."""
    config, state = load_source(path)
    return model_from_config(config, state).eval(), config
