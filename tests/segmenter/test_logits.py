import pytest
import torch
import torch.nn.functional as F

import segmenter.logits as logits_module
from segmenter.logits import argmax_ids, category_ids_from_logits, logits_at_size


def smooth_logits(n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Logits shaped like a model's: large smooth regions with category boundaries between them."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 8, height // 6 + 2, width // 6 + 2, generator=generator) * 4
    return F.interpolate(coarse, size=(height, width), mode="bilinear") + 0.2 * torch.randn(
        n, 8, height, width, generator=generator
    )


def test_argmax_ids_is_torch_argmax_with_the_first_maximum_winning_ties():
    logits = torch.randn(2, 8, 7, 5)
    logits[0, 3, 0, 0] = logits[0, 6, 0, 0] = 100.0  # a tie: the lower category wins, as torch.argmax
    ids = argmax_ids(logits)
    assert ids.dtype == torch.uint8 and torch.equal(ids.long(), logits.argmax(1)) and ids[0, 0, 0] == 3


@pytest.mark.parametrize(
    "low, size",
    [((9, 13), (9, 13)), ((9, 13), (37, 50)), ((9, 13), (5, 4)), ((48, 64), (360, 480)), ((90, 160), (1024, 2048))],
)
def test_category_ids_match_argmax_of_the_upsampled_logits(low, size):
    logits = smooth_logits(2, *low)
    expected = logits_at_size(logits, size).argmax(1)
    ids = category_ids_from_logits(logits, size)
    assert ids.dtype == torch.uint8 and ids.shape == (2, *size)
    # Only pixels whose two best interpolated logits tie to float rounding may differ.
    assert (ids.long() != expected).sum().item() <= max(1, expected.numel() // 100_000)


def test_only_boundary_pixels_are_interpolated_and_large_masks_go_in_chunks(monkeypatch):
    logits = torch.zeros(1, 8, 20, 20)
    logits[:, 2, :, :10] = 5.0  # category 2 on the left half,
    logits[:, 7, :, 10:] = 5.0  # 7 on the right: one vertical boundary
    monkeypatch.setattr(logits_module, "BOUNDARY_CHUNK", 7)
    ids = category_ids_from_logits(logits, (200, 200))
    assert torch.equal(ids.long(), logits_at_size(logits, (200, 200)).argmax(1))
    assert set(ids[0, :, :90].unique().tolist()) == {2} and set(ids[0, :, 110:].unique().tolist()) == {7}
