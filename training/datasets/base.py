"""A dataset of (image file, label file) pairs whose labels are mapped to the 8 categories."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from training.image_io import decode_image

Transform = Callable[[tv_tensors.Image, tv_tensors.Mask], tuple[torch.Tensor, torch.Tensor]]


class LabelledImages(Dataset):
    """Yields (image, mask of category ids 0..7) through `transforms`, or as uint8 tensors without them."""

    def __init__(self, pairs: list[tuple[Path, Path]], label_to_category: np.ndarray, transforms: Transform | None = None):
        if not pairs:
            raise FileNotFoundError("no image/label pairs found")
        self.pairs = pairs
        self.label_to_category = label_to_category
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
        image_path, label_path = self.pairs[index]
        rgb = decode_image(image_path.read_bytes(), max_pixels=2**40)
        image = tv_tensors.Image(torch.from_numpy(rgb).permute(2, 0, 1))
        with Image.open(label_path) as pil_labels:
            labels = np.asarray(pil_labels)
        if labels.ndim != 2:
            raise ValueError(f"{label_path}: expected a single-channel label image, got shape {labels.shape}")
        mask = tv_tensors.Mask(torch.from_numpy(self.label_to_category[labels]))
        if mask.shape != image.shape[-2:]:
            raise ValueError(f"{label_path}: label size {tuple(mask.shape)} differs from image size {tuple(image.shape[-2:])}")
        return image, mask

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.load(index)
        if self.transforms is None:
            return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)
        return self.transforms(image, mask)
