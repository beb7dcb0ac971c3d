"""What a TorchServe archive (.mar) of the model holds, and reading the model back out of one (or out of the
folder TorchServe unpacked it into). `handler.archive` writes them with this layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import load_file

from roadseg.model_config import ModelConfig
from segmenter.weights import cast_floating

CONFIG_FILE = "model_config.json"
WEIGHTS_FILE = "weights.safetensors"
ONNX_FILE = "model.onnx"


def read_archive(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor] | bytes]:
    """(config, model) of an archive (.mar) or of the folder TorchServe unpacked it into; the model is fp32
    weights (runtime torch) or the ONNX graph's bytes (runtime onnxruntime)."""
    if path.is_dir():
        config = ModelConfig.read(path / CONFIG_FILE)
        if config.runtime == "onnxruntime":
            return config, (path / ONNX_FILE).read_bytes()
        return config, cast_floating(load_file(path / WEIGHTS_FILE), torch.float32)
    with zipfile.ZipFile(path) as mar:
        config = ModelConfig.from_json(mar.read(CONFIG_FILE))
        if config.runtime == "onnxruntime":
            return config, mar.read(ONNX_FILE)
        state = load_safetensors(mar.read(WEIGHTS_FILE))
    return config, cast_floating(state, torch.float32)


def archive_config(path: Path) -> ModelConfig:
    """The config of an archive, without reading its model."""
    with zipfile.ZipFile(path) as mar:
        return ModelConfig.from_json(mar.read(CONFIG_FILE))
