"""Small model archives for the serving tests: a tiny U-Net whose head answers one category everywhere."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from handler.archive import ServingOptions, build_archive
from roadseg.contract import MODEL_NAME
from roadseg.model_config import ModelConfig
from segmenter.weights import model_from_config
from training.onnx_export import export_onnx


def constant_model(
    category: int, short_side: int = 64, model: str = "unet_mini"
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """Config + weights of a registered model (width 0.25) that predicts `category` for every pixel: its last
    convolution (the classifier) answers a constant."""
    config = ModelConfig(model, {"width": 0.25}, short_side, "fixture")
    state = model_from_config(config).state_dict()
    [*_, head] = [k for k, v in state.items() if k.endswith(".weight") and v.ndim == 4 and v.shape[0] == 8]
    bias = head.removesuffix(".weight") + ".bias"
    state[head] = torch.zeros_like(state[head])
    state[bias] = torch.full_like(state[bias], -10.0)
    state[bias][category] = 10.0
    return config, state


def write_constant_model(folder: Path, category: int, short_side: int = 64) -> tuple[Path, Path]:
    """The constant model exported as models/ holds it: X.safetensors beside X.json."""
    folder.mkdir(parents=True, exist_ok=True)
    config, state = constant_model(category, short_side)
    weights, config_path = folder / f"constant_{category}.safetensors", folder / f"constant_{category}.json"
    save_file({k: v.contiguous() for k, v in state.items()}, weights)
    config_path.write_text(config.to_json())
    return weights, config_path


def write_constant_onnx(path: Path, category: int, short_side: int = 64, model: str = "unet_mini") -> Path:
    """The constant model as an ONNX graph (runtime onnxruntime)."""
    config, state = constant_model(category, short_side, model)
    return export_onnx(model_from_config(config, state).eval(), path, short_side)


def build_constant_archive(
    model_store: Path,
    category: int,
    version: str,
    filename: str,
    options: ServingOptions | None = None,
    onnx: bool = False,
    name: str = MODEL_NAME,
    model: str = "unet_mini",
) -> Path:
    """model_store/<filename> holding model `name` at `version`, a `model` that answers `category` everywhere;
    served by ONNX Runtime with `onnx`, else by PyTorch."""
    graph = write_constant_onnx(model_store / f".{filename}.onnx", category, model=model) if onnx else None
    path = build_archive(
        *constant_model(category, model=model),
        version=version,
        path=model_store / filename,
        name=name,
        options=options or ServingOptions(),
        onnx=graph,
    )
    if graph is not None:
        graph.unlink()
    return path
