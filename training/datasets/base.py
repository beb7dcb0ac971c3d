"""A dataset of (image file, label file) pairs whose labels are mapped to the 8 categories."""

from __future__ import annotations

from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from roadseg.images import decode_image

Transform = Callable[[tv_tensors.Image, tv_tensors.Mask], tuple[torch.Tensor, torch.Tensor]]


class LabelledImages(Dataset):
    """Yields (image, mask of category ids 0..7) through `transforms`, or as uint8 tensors without them."""

    def __init__(
        self, pairs: list[tuple[Path, Path]], label_to_category: np.ndarray, transforms: Transform | None = None
    ):
        if not pairs:
            raise FileNotFoundError("no image/label pairs found")
        self.pairs = pairs
        self.label_to_category = label_to_category
        self.transforms = transforms
        self._cache: list[tuple[tv_tensors.Image, tv_tensors.Mask]] | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    def cache_in_memory(self) -> LabelledImages:
        """Decode every pair once and keep them (uint8): epochs then cost augmentation only, not PNG decoding.
        Call before the loader's workers start, so they share the decoded images."""
        if self._cache is None:
            self._cache = [self._decode(i) for i in range(len(self))]
        return self

    def category_mask(self, index: int) -> np.ndarray:
        """The label image of a pair as category ids, without decoding the image."""
        if self._cache is not None:
            return self._cache[index][1].numpy()
        return self._read_labels(self.pairs[index][1])

    def load(self, index: int) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
        return self._cache[index] if self._cache is not None else self._decode(index)

    def _read_labels(self, label_path: Path) -> np.ndarray:
        with Image.open(label_path) as pil_labels:
            labels = np.asarray(pil_labels)
        if labels.ndim != 2:
            raise ValueError(f"{label_path}: expected a single-channel label image, got shape {labels.shape}")
        return self.label_to_category[labels]

    def _decode(self, index: int) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
        image_path, label_path = self.pairs[index]
        rgb = decode_image(image_path.read_bytes(), max_pixels=2**40)
        image = tv_tensors.Image(torch.from_numpy(rgb).permute(2, 0, 1))
        mask = tv_tensors.Mask(torch.from_numpy(self._read_labels(label_path)))
        if mask.shape != image.shape[-2:]:
            raise ValueError(
                f"{label_path}: label size {tuple(mask.shape)} differs from image size {tuple(image.shape[-2:])}"
            )
        return image, mask

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.load(index)
        if self.transforms is None:
            return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)
        return self.transforms(image, mask)


def size_of(dataset: Dataset[Any]) -> int:
    """len() of a map-style dataset (torch's Dataset type does not promise one)."""
    if not isinstance(dataset, Sized):
        raise TypeError(f"{type(dataset).__name__} has no length")
    return len(dataset)
