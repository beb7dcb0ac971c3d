"""Dataset registry: name -> builder(root, split, transforms)."""

from __future__ import annotations

from pathlib import Path

from training.datasets.base import LabelledImages, Transform
from training.datasets.camvid import camvid
from training.datasets.cityscapes import cityscapes

DATASETS = {"cityscapes": cityscapes, "camvid": camvid}


def build_dataset(name: str, root: str | Path, split: str, transforms: Transform | None = None) -> LabelledImages:
    try:
        builder = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None
    return builder(root, split, transforms)
