"""The handler's pure steps (no TorchServe): bytes -> model input, logits -> PNG of category ids (and
confidence)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from roadseg.images import ImageDecodeError, decode_image, encode_png
from roadseg.preprocessing import model_input
from training.inference import category_ids_from_logits
from training.precision import autocast, memory_format


@dataclass
class PreparedImage:
    """One request: the model input, the size the mask must have, or the reason it was refused."""

    tensor: torch.Tensor | None
    size: tuple[int, int]
    error: str | None = None


def prepare_image(data: bytes | bytearray, short_side: int, max_pixels: int | None = None) -> PreparedImage:
    """Decode (any mode, EXIF applied), then prepare as training's eval preset does (`model_input`)."""
    try:
        rgb = decode_image(bytes(data), max_pixels)
    except ImageDecodeError as error:
        return PreparedImage(None, (0, 0), str(error))
    return PreparedImage(torch.from_numpy(model_input(rgb, short_side)), (rgb.shape[0], rgb.shape[1]))


def batches_by_shape(items: list[PreparedImage]) -> dict[tuple[int, ...], list[int]]:
    """Indices of the decodable items, grouped by input shape (each group runs as one batch)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, item in enumerate(items):
        if item.tensor is not None:
            groups.setdefault(tuple(item.tensor.shape), []).append(index)
    return groups


@torch.inference_mode()
def run_model(
    model: torch.nn.Module, items: list[PreparedImage], device: torch.device, precision: str = "fp32"
) -> list[torch.Tensor | None]:
    """fp32 logits (C, h, w) per item (None for refused items), batching items of equal shape; `precision` is
    a resolved one (`training.precision`): bf16 runs under autocast in channels-last."""
    outputs: list[torch.Tensor | None] = [None] * len(items)
    for indices in batches_by_shape(items).values():
        batch = torch.stack([t for i in indices if (t := items[i].tensor) is not None]).to(device)
        with autocast(device, precision):
            logits = model(batch.contiguous(memory_format=memory_format(precision))).float().cpu()
        for row, index in enumerate(indices):
            outputs[index] = logits[row]
    return outputs


def confidence_at_size(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8: the highest softmax probability per pixel, 0..1 as 0..255, bilinearly
    resized to `size` (height, width) from the model's resolution."""
    confidence = torch.softmax(logits.float(), dim=0).amax(dim=0)[None, None]
    if tuple(confidence.shape[-2:]) != tuple(size):
        confidence = F.interpolate(confidence, size=size, mode="bilinear", align_corners=False)
    return (confidence[0, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def mask_png(logits: torch.Tensor, size: tuple[int, int], with_confidence: bool = False) -> bytes:
    """(C, h, w) logits -> 8-bit PNG of category ids at `size` (height, width); with the confidence as a second
    (alpha) channel when asked, from the same logits."""
    ids = category_ids_from_logits(logits[None], size)[0].numpy().astype(np.uint8)
    if not with_confidence:
        return encode_png(ids)
    return encode_png(np.stack([ids, confidence_at_size(logits, size)], axis=-1))
