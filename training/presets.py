"""Train and eval pipelines: the one place where sizes and normalisation live."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from roadseg.categories import VOID_ID
from roadseg.preprocessing import MEAN, STD, model_input


@dataclass(frozen=True)
class DatasetScale:
    """Training scale of a dataset: images are resized so their shorter side is `short_side`."""

    short_side: int
    crop: tuple[int, int]  # (height, width) of the training crop


# CamVid at full resolution (480x360); Cityscapes at half (1024x512).
DATASET_SCALES = {
    "camvid": DatasetScale(short_side=360, crop=(352, 480)),
    "cityscapes": DatasetScale(short_side=512, crop=(512, 1024)),
}

_TO_TENSORS = v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}, scale=True)
_FILL = {tv_tensors.Image: 0, tv_tensors.Mask: VOID_ID}


class TrainPreset:
    """Joint augmentation: random scale, rotation + translation, crop, flip; photometric jitter on the image."""

    def __init__(
        self,
        short_side: int,
        crop: tuple[int, int],
        scale_range: tuple[float, float] = (0.75, 1.25),
        degrees: float = 10.0,
        translate: float = 0.1,
        hflip_prob: float = 0.5,
        color_jitter: float = 0.3,
    ):
        steps: list[v2.Transform] = [
            v2.RandomResize(int(short_side * scale_range[0]), int(short_side * scale_range[1]) + 1),
            v2.RandomAffine(degrees=degrees, translate=(translate, translate), fill=_FILL),
            v2.RandomCrop(crop, pad_if_needed=True, fill=_FILL),
            v2.RandomHorizontalFlip(hflip_prob),
        ]
        if color_jitter:
            steps.append(v2.ColorJitter(color_jitter, color_jitter, color_jitter, hue=0.02))
        steps += [_TO_TENSORS, v2.Normalize(MEAN, STD)]
        self.transforms = v2.Compose(steps)

    @classmethod
    def heavy(cls, short_side: int, crop: tuple[int, int]) -> TrainPreset:
        """Stronger scale, rotation and colour changes: for images a teacher labels (`training.distillation`)."""
        return cls(short_side, crop, scale_range=(0.5, 1.75), degrees=15.0, translate=0.15, color_jitter=0.5)

    def __call__(self, image: tv_tensors.Image, mask: tv_tensors.Mask) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.transforms(image, mask)
        return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)


class EvalPreset:
    """Image prepared exactly as the handler prepares it (`roadseg.preprocessing.model_input`); the mask keeps
    its native size."""

    def __init__(self, short_side: int):
        self.short_side = short_side

    def __call__(self, image: tv_tensors.Image, mask: tv_tensors.Mask) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = image.as_subclass(torch.Tensor).permute(1, 2, 0).numpy()
        return torch.from_numpy(model_input(rgb, self.short_side)), mask.as_subclass(torch.Tensor).long()
