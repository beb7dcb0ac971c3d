"""Checkpoints: the model's config travels with its weights, so anyone can rebuild it by name
(`segmenter.weights` reads them back)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from roadseg.model_config import ModelConfig


def save_checkpoint(path: Path, model: torch.nn.Module, config: ModelConfig, **state: Any) -> None:
    """Write atomically (a crash mid-write never leaves a truncated checkpoint); the config as a plain dict."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": config.to_dict(), "model": model.state_dict(), **state}, tmp)
    os.replace(tmp, path)
