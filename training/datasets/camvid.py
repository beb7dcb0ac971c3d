"""CamVid, SegNet layout: <split>/*.png + <split>annot/*.png (11 classes + Unlabelled)."""

from __future__ import annotations

from pathlib import Path

from roadseg.categories import CAMVID_CLASS_TO_CATEGORY_ID
from training.datasets.base import LabelledImages, Transform

SPLITS = ("train", "val", "test")


def camvid_pairs(root: Path, split: str) -> list[tuple[Path, Path]]:
    """Sorted (image, annotation) pairs of a split; every image must have its annotation."""
    image_dir, label_dir = root / split, root / f"{split}annot"
    if not image_dir.is_dir() or not label_dir.is_dir():
        raise FileNotFoundError(f"CamVid: expected {image_dir} and {label_dir}")
    pairs = []
    for image in sorted(image_dir.glob("*.png")):
        label = label_dir / image.name
        if not label.is_file():
            raise FileNotFoundError(f"CamVid: missing annotation {label}")
        pairs.append((image, label))
    return pairs


def camvid(root: str | Path, split: str, transforms: Transform | None = None) -> LabelledImages:
    return LabelledImages(camvid_pairs(Path(root), split), CAMVID_CLASS_TO_CATEGORY_ID, transforms)
