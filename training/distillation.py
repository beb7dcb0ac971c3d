"""Knowledge distillation: the student matches a teacher's softened class probabilities (pixel-wise KL divergence at a
temperature, Hinton et al. 2015) beside the usual loss on the labels.

    loss = label_weight * label_loss(student, masks)
         + kl_weight * T^2 * KL(softmax(teacher / T) || softmax(student / T)), per pixel, averaged

The teacher is any model form the `Segmenter` loads (a checkpoint, shipped weights, an archive, an ONNX graph) and
runs in inference mode on the student's own (augmented) batch; pixels the labels call void are distilled too, since
the teacher has an opinion there and the labels do not. `TeacherOnly` adds more images taught by the teacher
alone: the training images again under heavier augmentation, their labels withheld (`UNLABELLED_ID`)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from segmenter.precision import autocast, memory_format
from segmenter.segmenter import Segmenter
from training.datasets.base import LabelledImages, Transform

UNLABELLED_ID = 255  # a whole mask of it: an image whose labels the student does not see (the teacher's alone)


class TeacherOnly(Dataset):
    """A labelled dataset's images through `transforms` (e.g. a heavier augmentation) with their masks withheld:
    every pixel `UNLABELLED_ID`, so `DistillationLoss` teaches them by the teacher alone."""

    def __init__(self, images: LabelledImages, transforms: Transform):
        self.images, self.transforms = images, transforms

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.transforms(*self.images.load(index))
        return image, torch.full_like(mask, UNLABELLED_ID)


class DistillationLoss(nn.Module):
    """`label_weight` x the label loss + `kl_weight` x T^2 x the mean per-pixel KL divergence from the teacher.
    The label loss counts the batch's labelled images only, weighted by their share of the batch."""

    def __init__(
        self, label_loss: nn.Module, temperature: float = 2.0, kl_weight: float = 1.0, label_weight: float = 1.0
    ):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"the temperature must be positive, got {temperature}")
        self.label_loss = label_loss
        self.temperature = temperature
        self.kl_weight = kl_weight
        self.label_weight = label_weight

    def forward(self, student: torch.Tensor, masks: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        t = self.temperature
        if teacher.shape[-2:] != student.shape[-2:]:
            teacher = F.interpolate(teacher, size=student.shape[-2:], mode="bilinear", align_corners=False)
        kl = F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="none", log_target=True)
        loss = self.kl_weight * t * t * kl.sum(1).mean()
        labelled = (masks != UNLABELLED_ID).flatten(1).any(1)
        if self.label_weight and bool(labelled.any()):
            share = labelled.float().mean()
            if bool(labelled.all()):
                loss = loss + self.label_weight * self.label_loss(student, masks)
            else:
                loss = loss + self.label_weight * share * self.label_loss(student[labelled], masks[labelled])
        return loss


class Teacher:
    """A trained model in inference mode: (N, 3, H, W) normalised images -> (N, C, H, W) fp32 logits, computed at
    `precision` (the student's: bf16 autocast + channels-last where the CPU has bf16). `student_short_side`: the
    scale the student's batches come at; the teacher sees them resized to the scale it was trained at (its config's
    short side), so a teacher trained at 384 is not asked to work at 256."""

    def __init__(
        self,
        path: str | Path,
        device: torch.device | str = "cpu",
        precision: str = "fp32",
        student_short_side: int | None = None,
    ):
        self.segmenter = Segmenter.load(path, device=device, precision=precision)
        own = self.segmenter.config.short_side
        self.scale = own / student_short_side if own and student_short_side else 1.0

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        segmenter = self.segmenter
        if self.scale != 1.0:
            images = F.interpolate(images, scale_factor=self.scale, mode="bilinear", align_corners=False)
        with autocast(segmenter.device, segmenter.precision):
            logits: torch.Tensor = segmenter.model(images.contiguous(memory_format=memory_format(segmenter.precision)))
        return logits.float().clone()  # out of inference mode: the student's loss may use it in autograd
