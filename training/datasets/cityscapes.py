"""Cityscapes, official layout: leftImg8bit/<split>/<city>/*_leftImg8bit.png (or .jpg) + gtFine/.../*_labelIds.png."""

from __future__ import annotations

from pathlib import Path

from roadseg.categories import CITYSCAPES_LABEL_ID_TO_CATEGORY_ID
from training.datasets.base import LabelledImages, Transform

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = ("_leftImg8bit.png", "_leftImg8bit.jpg")  # the official download, or a re-encoded copy


def cityscapes_pairs(root: Path, split: str) -> list[tuple[Path, Path]]:
    """Sorted (image, labelIds) pairs of a split, PNG or JPEG images; every image must have its label file."""
    image_dir = root / "leftImg8bit" / split
    if not image_dir.is_dir():
        raise FileNotFoundError(f"Cityscapes: {image_dir} not found (expected leftImg8bit/{split}/<city>/)")
    images = sorted(image for suffix in IMAGE_SUFFIXES for image in image_dir.glob(f"*/*{suffix}"))
    pairs = []
    for image in images:
        stem = next(image.name.removesuffix(s) for s in IMAGE_SUFFIXES if image.name.endswith(s))
        label = root / "gtFine" / split / image.parent.name / f"{stem}_gtFine_labelIds.png"
        if not label.is_file():
            raise FileNotFoundError(f"Cityscapes: missing label {label}")
        pairs.append((image, label))
    return pairs


def cityscapes(root: str | Path, split: str, transforms: Transform | None = None) -> LabelledImages:
    return LabelledImages(cityscapes_pairs(Path(root), split), CITYSCAPES_LABEL_ID_TO_CATEGORY_ID, transforms)
