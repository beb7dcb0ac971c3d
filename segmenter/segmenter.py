"""The Segmenter: one object that loads any form of a trained model and turns images into category ids.

    segmenter = Segmenter.load("models/vgg16_unet_v3.0.safetensors")     # or a .pt, a .mar, an .onnx
    ids = segmenter.segment(rgb)                                          # (H, W) uint8, the image's size

It owns the runtime (PyTorch, at a resolved precision, or ONNX Runtime) and the steps around the model:
decode and prepare as training's eval preset does (`roadseg.preprocessing.model_input`), batch inputs of
equal shape, and turn logits into ids (and confidence) at each input's size. The TorchServe handler, the
benchmarks and the evaluation tools all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from roadseg import logits as logits_module
from roadseg.images import ImageDecodeError, decode_image
from roadseg.model_config import ModelConfig
from roadseg.preprocessing import model_input
from segmenter.archives import read_archive
from segmenter.onnx_model import OnnxModel
from segmenter.precision import autocast, memory_format, prepare_model, resolve_precision
from segmenter.weights import load_source, model_from_config


@dataclass
class PreparedImage:
    """One image: the model input, the size its mask must have, or the reason it was refused."""

    tensor: torch.Tensor | None
    size: tuple[int, int]
    error: str | None = None


def prepare_image(data: bytes | bytearray, short_side: int, max_pixels: int | None = None) -> PreparedImage:
    """Decode (any mode, EXIF applied), then prepare as training's eval preset does (`model_input`)."""
    try:
        rgb = decode_image(bytes(data), max_pixels)
    except ImageDecodeError as error:
        return PreparedImage(None, (0, 0), str(error))
    return prepare_rgb(rgb, short_side)


def prepare_rgb(rgb: np.ndarray, short_side: int) -> PreparedImage:
    return PreparedImage(torch.from_numpy(model_input(rgb, short_side)), (rgb.shape[0], rgb.shape[1]))


def batches_by_shape(items: list[PreparedImage]) -> dict[tuple[int, ...], list[int]]:
    """Indices of the decodable items, grouped by input shape (each group runs as one batch)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, item in enumerate(items):
        if item.tensor is not None:
            groups.setdefault(tuple(item.tensor.shape), []).append(index)
    return groups


def confidence_at_size(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8: the highest softmax probability per pixel, 0..1 as 0..255, bilinearly
    resized to `size` (height, width) from the model's resolution (`roadseg.logits`, as every runtime does it)."""
    return logits_module.confidence_at_size(logits.float().numpy(), size)


def category_ids_at_size(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8 category ids at `size` (`roadseg.logits`, as every runtime does it)."""
    return logits_module.category_ids_at_size(logits.float().numpy(), size)


class Segmenter:
    """A model in its runtime, with the preparation and the logits-to-mask steps around it."""

    def __init__(
        self,
        model: nn.Module,
        config: ModelConfig,
        device: torch.device | str = "cpu",
        precision: str | None = None,
    ):
        self.config = config
        self.device = torch.device(device)
        self.runtime = "onnxruntime" if isinstance(model, OnnxModel) else "torch"
        self.precision = "fp32"
        if self.runtime == "torch":
            self.precision = resolve_precision(precision or config.precision, self.device)
            prepare_model(model.to(self.device).eval(), self.precision)
        self.model = model

    @classmethod
    def load(
        cls,
        path: str | Path,
        threads: int | None = None,
        device: torch.device | str = "cpu",
        precision: str | None = None,
    ) -> Segmenter:
        """From a checkpoint (.pt), exported weights (.safetensors beside its .json), an archive (.mar or the
        folder TorchServe unpacked it into) or an ONNX graph (.onnx beside its .onnx.json). An archive runs
        in the runtime its config names; ONNX graphs in ONNX Runtime with `threads` intra-op threads."""
        path = Path(path)
        if path.is_dir() or path.suffix == ".mar":
            config, model = read_archive(path)
            if isinstance(model, bytes):
                return cls(OnnxModel(model, threads), config)
            return cls(model_from_config(config, model), config, device, precision)
        if path.suffix == ".onnx":
            return cls(OnnxModel(path, threads), ModelConfig.beside_onnx(path))
        config, state = load_source(path)
        return cls(model_from_config(config, state), config, device, precision)

    @property
    def short_side(self) -> int:
        return self.config.short_side

    def describe(self) -> str:
        runtime = self.runtime if self.runtime != "torch" else f"torch {self.precision}"
        return f"{self.config.model} {self.config.model_kwargs}: runtime {runtime} on {self.device}"

    def prepare(self, data: bytes | bytearray, max_pixels: int | None = None) -> PreparedImage:
        return prepare_image(data, self.short_side, max_pixels)

    @torch.inference_mode()
    def logits(self, items: list[PreparedImage]) -> list[torch.Tensor | None]:
        """fp32 logits (C, h, w) on the CPU per item (None for refused items), batching items of equal shape."""
        outputs: list[torch.Tensor | None] = [None] * len(items)
        for indices in batches_by_shape(items).values():
            batch = torch.stack([t for i in indices if (t := items[i].tensor) is not None]).to(self.device)
            with autocast(self.device, self.precision):
                logits = self.model(batch.contiguous(memory_format=memory_format(self.precision))).float().cpu()
            for row, index in enumerate(indices):
                outputs[index] = logits[row]
        return outputs

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) uint8 category ids."""
        item = prepare_rgb(rgb, self.short_side)
        [logits] = self.logits([item])
        assert logits is not None
        return category_ids_at_size(logits, item.size)
