"""The handler's answer for one image: a PNG of category ids, with the confidence as a second channel when the
request asks for it (`roadseg.contract.OUTPUT_HEADER`), both from the same logits."""

from __future__ import annotations

import torch

from roadseg.masks import encode_mask_png
from segmenter.segmenter import category_ids_at_size, confidence_at_size


def mask_png(logits: torch.Tensor, size: tuple[int, int], with_confidence: bool = False) -> bytes:
    """(C, h, w) logits -> 8-bit PNG of category ids at `size` (height, width); with the confidence as a second
    (alpha) channel when asked, from the same logits."""
    return encode_mask_png(
        category_ids_at_size(logits, size), confidence_at_size(logits, size) if with_confidence else None
    )
