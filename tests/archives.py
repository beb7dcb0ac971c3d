"""Small model archives for the serving tests: a tiny U-Net whose head answers one category everywhere."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from safetensors.torch import save_file

from handler.archive import ServingOptions, build_archive
from roadseg.contract import MODEL_NAME
from roadseg.model_config import ModelConfig
from segmenter.weights import model_from_config
from training.onnx_export import export_onnx


def head_bias(state: dict[str, torch.Tensor]) -> str:
    """The name of the classifier's bias: the last convolution with 8 output channels."""
    [*_, head] = [k for k, v in state.items() if k.endswith(".weight") and v.ndim == 4 and v.shape[0] == 8]
    return head.removesuffix(".weight") + ".bias"


def constant_bias(category: int) -> torch.Tensor:
    bias = torch.full((8,), -10.0)
    bias[category] = 10.0
    return bias


def constant_model(
    category: int, short_side: int = 64, model: str = "unet_mini"
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """Config + weights of a registered model (width 0.25) that predicts `category` for every pixel: its last
    convolution (the classifier) answers a constant."""
    config = ModelConfig(model, {"width": 0.25}, short_side, "fixture")
    state = model_from_config(config).state_dict()
    bias = head_bias(state)
    state[bias.removesuffix(".bias") + ".weight"].zero_()
    state[bias] = constant_bias(category)
    return config, state


@cache
def _constant_graph(short_side: int, model: str) -> tuple[bytes, str]:
    """The constant model's ONNX graph for category 0 and its classifier bias's name: exported once per process
    (an export takes 5-20 s)."""
    config, state = constant_model(0, short_side, model)
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(model_from_config(config, state).eval(), Path(folder) / "m.onnx", short_side)
        return path.read_bytes(), head_bias(state)


def write_constant_model(folder: Path, category: int, short_side: int = 64) -> tuple[Path, Path]:
    """The constant model exported as models/ holds it: X.safetensors beside X.json."""
    folder.mkdir(parents=True, exist_ok=True)
    config, state = constant_model(category, short_side)
    weights, config_path = folder / f"constant_{category}.safetensors", folder / f"constant_{category}.json"
    save_file({k: v.contiguous() for k, v in state.items()}, weights)
    config_path.write_text(config.to_json())
    return weights, config_path


def write_constant_onnx(path: Path, category: int, short_side: int = 64, model: str = "unet_mini") -> Path:
    """The constant model as an ONNX graph (runtime onnxruntime): the cached export, its classifier's bias set."""
    data, name = _constant_graph(short_side, model)
    graph = onnx.load_from_string(data)
    [bias] = [tensor for tensor in graph.graph.initializer if tensor.name == name]
    bias.CopyFrom(numpy_helper.from_array(constant_bias(category).numpy(), name))
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(graph, str(path))
    return path


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
