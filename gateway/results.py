"""Machine-readable results of one segmentation: per-category pixel shares (format=json) and COCO-style
run-length encodings per category (format=rle, pycocotools' compressed RLE)."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask
from pydantic import BaseModel, Field

from roadseg.categories import CATEGORIES
from roadseg.masks import category_pixels


class CategoryShare(BaseModel):
    id: int
    name: str
    pixels: int
    share: float = Field(description="pixels / all pixels of the image, 0..1")


class CategoryRle(BaseModel):
    id: int
    name: str
    size: tuple[int, int] = Field(description="[height, width], as COCO writes it")
    counts: str = Field(description="COCO compressed RLE (column-major); pycocotools.mask.decode reads it")


class SegmentationResult(BaseModel):
    """Who answered, how fast, and the image's size: the fields every JSON result has."""

    model: str
    version: str
    inference_ms: float
    width: int
    height: int


class SegmentationSummary(SegmentationResult):
    categories: list[CategoryShare] = Field(description="all 8 categories, in id order")


class SegmentationRle(SegmentationResult):
    masks: list[CategoryRle] = Field(description="one per category present in the mask, in id order")


def category_shares(ids: np.ndarray) -> list[CategoryShare]:
    counts = category_pixels(ids)
    return [
        CategoryShare(id=c.id, name=c.name, pixels=int(counts[c.id]), share=float(counts[c.id]) / ids.size)
        for c in CATEGORIES
    ]


def category_rles(ids: np.ndarray) -> list[CategoryRle]:
    """COCO RLE of each category present: one binary mask each, encoded by pycocotools."""
    present = np.flatnonzero(category_pixels(ids))
    if not len(present):
        return []
    binary = np.asfortranarray(np.stack([ids == c for c in present], axis=-1).astype(np.uint8))
    encoded = coco_mask.encode(binary)
    return [
        CategoryRle(id=int(c), name=CATEGORIES[c].name, size=tuple(rle["size"]), counts=rle["counts"].decode("ascii"))
        for c, rle in zip(present, encoded, strict=True)
    ]
