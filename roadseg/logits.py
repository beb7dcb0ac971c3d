"""Logits to a mask, in NumPy: category ids and confidence at the frame's size, the same in every runtime (the
PyTorch one, the TorchServe handler, the embedded one that has no PyTorch)."""

from __future__ import annotations

import numpy as np

BOUNDARY_CHUNK = 1 << 20  # pixels interpolated at a time: bounds memory on 12-megapixel masks


def argmax_ids(logits: np.ndarray) -> np.ndarray:
    """(C, h, w) -> (h, w) uint8 argmax over C (first maximum wins), by a running maximum."""
    ids = np.zeros(logits.shape[1:], dtype=np.uint8)
    best = logits[0].copy()
    for category in range(1, logits.shape[0]):
        plane = logits[category]
        ids[plane > best] = category
        np.maximum(best, plane, out=best)
    return ids


def source_index(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling with half-pixel centres (PyTorch's align_corners=False): for each output index, the two
    input neighbours and the weight of the second."""
    position = np.maximum((np.arange(out_size, dtype=np.float32) + 0.5) * np.float32(in_size / out_size) - 0.5, 0)
    first = np.minimum(np.floor(position).astype(np.int64), in_size - 1)
    return first, np.minimum(first + 1, in_size - 1), (position - first).astype(np.float32)


def category_ids_at_size(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8 category ids at `size`: the argmax of the bilinearly resized logits,
    interpolated only where the 4 input neighbours disagree (elsewhere the argmax is theirs)."""
    channels, height, width = logits.shape
    low = argmax_ids(logits)
    if (height, width) == tuple(size):
        return low
    down = np.concatenate([low[1:], low[-1:]], 0)
    right = np.concatenate([low[:, 1:], low[:, -1:]], 1)
    diagonal = np.concatenate([right[1:], right[-1:]], 0)
    undecided = 255
    marked = np.where((low == down) & (low == right) & (low == diagonal), low, np.uint8(undecided))
    y0, y1, wy = source_index(size[0], height)
    x0, x1, wx = source_index(size[1], width)
    ids = marked[y0][:, x0]
    yy_all, xx_all = np.nonzero(ids == undecided)
    vectors = np.ascontiguousarray(logits.reshape(channels, -1).T, dtype=np.float32)  # one vector per pixel
    for start in range(0, len(yy_all), BOUNDARY_CHUNK):
        yy, xx = yy_all[start : start + BOUNDARY_CHUNK], xx_all[start : start + BOUNDARY_CHUNK]
        rows0, rows1 = y0[yy] * width, y1[yy] * width
        cols0, cols1 = x0[xx], x1[xx]
        fy, fx = wy[yy, None], wx[xx, None]
        top = (1 - fx) * vectors[rows0 + cols0] + fx * vectors[rows0 + cols1]
        bottom = (1 - fx) * vectors[rows1 + cols0] + fx * vectors[rows1 + cols1]
        ids[yy, xx] = ((1 - fy) * top + fy * bottom).argmax(1).astype(np.uint8)
    return np.asarray(ids, dtype=np.uint8)


def confidence_at_size(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8: the highest softmax probability per pixel (0..1 as 0..255), bilinearly
    resized to `size`."""
    shifted = logits.astype(np.float32) - logits.max(0, keepdims=True)
    exp = np.exp(shifted)
    confidence = 1.0 / exp.sum(0)  # the largest probability: exp(0) / sum
    if confidence.shape != tuple(size):
        y0, y1, wy = source_index(size[0], confidence.shape[0])
        x0, x1, wx = source_index(size[1], confidence.shape[1])
        rows = confidence[y0] * (1 - wy[:, None]) + confidence[y1] * wy[:, None]
        confidence = rows[:, x0] * (1 - wx) + rows[:, x1] * wx
    return np.asarray(np.rint(np.clip(confidence, 0, 1) * 255), dtype=np.uint8)
