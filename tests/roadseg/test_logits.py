"""roadseg.logits against PyTorch's bilinear resize + argmax / softmax, the reference every runtime must match."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import roadseg.logits as logits_module
from roadseg.logits import argmax_ids, category_ids_at_size, confidence_at_size


def smooth_logits(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(8, H, W) logits shaped like a model's: large smooth regions with category boundaries between them."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, 8, height // 6 + 2, width // 6 + 2, generator=generator) * 4
    fine = F.interpolate(coarse, size=(height, width), mode="bilinear")
    return (fine + 0.2 * torch.randn(1, 8, height, width, generator=generator))[0].numpy()


def resized(logits: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(torch.from_numpy(logits)[None], size=size, mode="bilinear", align_corners=False)[0]


def test_argmax_ids_is_argmax_with_the_first_maximum_winning_ties():
    logits = np.random.default_rng(0).normal(size=(8, 7, 5)).astype(np.float32)
    logits[3, 0, 0] = logits[6, 0, 0] = 100.0  # a tie: the lower category wins, as argmax does
    ids = argmax_ids(logits)
    assert ids.dtype == np.uint8 and np.array_equal(ids, logits.argmax(0)) and ids[0, 0] == 3


@pytest.mark.parametrize(
    "low, size",
    [((9, 13), (9, 13)), ((9, 13), (37, 50)), ((9, 13), (5, 4)), ((48, 64), (360, 480)), ((90, 160), (1024, 2048))],
)
def test_category_ids_match_argmax_of_the_upsampled_logits(low, size):
    logits = smooth_logits(*low)
    expected = resized(logits, size).argmax(0).numpy()
    ids = category_ids_at_size(logits, size)
    assert ids.dtype == np.uint8 and ids.shape == size
    # Only pixels whose two best interpolated logits tie to float rounding may differ.
    assert int((ids != expected).sum()) <= max(1, expected.size // 100_000)


def test_only_boundary_pixels_are_interpolated_and_large_masks_go_in_chunks(monkeypatch):
    logits = np.zeros((8, 20, 20), dtype=np.float32)
    logits[2, :, :10] = 5.0  # category 2 on the left half,
    logits[7, :, 10:] = 5.0  # 7 on the right: one vertical boundary
    monkeypatch.setattr(logits_module, "BOUNDARY_CHUNK", 7)
    ids = category_ids_at_size(logits, (200, 200))
    assert np.array_equal(ids, resized(logits, (200, 200)).argmax(0).numpy())
    assert set(np.unique(ids[:, :90])) == {2} and set(np.unique(ids[:, 110:])) == {7}


@pytest.mark.parametrize("size", [(12, 20), (37, 50), (6, 10)])
def test_confidence_is_the_resized_top_probability_in_255ths(size):
    logits = smooth_logits(12, 20, seed=3)
    top = torch.softmax(torch.from_numpy(logits), 0).amax(0)[None, None]
    expected = F.interpolate(top, size=size, mode="bilinear", align_corners=False)[0, 0]
    expected = (expected.clamp(0, 1) * 255).round().numpy()
    confidence = confidence_at_size(logits, size)
    assert confidence.dtype == np.uint8 and confidence.shape == size
    assert np.abs(confidence.astype(int) - expected.astype(int)).max() <= 1
