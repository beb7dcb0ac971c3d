"""Knowledge distillation: the student matches a teacher's softened class probabilities (pixel-wise KL divergence at a
temperature, Hinton et al. 2015) beside the usual loss on the labels.

    loss = label_weight * label_loss(student, masks)
         + kl_weight * T^2 * KL(softmax(teacher / T) || softmax(student / T)), per pixel, averaged

The teacher is any model form the `Segmenter` loads (a checkpoint, shipped weights, an archive, an ONNX graph) and
runs in inference mode on the student's own (augmented) batch; pixels the labels call void are distilled too, since
the teacher has an opinion there and the labels do not."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from segmenter.segmenter import Segmenter


class DistillationLoss(nn.Module):
    """`label_weight` x the label loss + `kl_weight` x T^2 x the mean per-pixel KL divergence from the teacher."""

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
        if self.label_weight:
            loss = loss + self.label_weight * self.label_loss(student, masks)
        return loss


class Teacher:
    """A trained model in inference mode: (N, 3, H, W) normalised images -> (N, C, H, W) fp32 logits."""

    def __init__(self, path: str | Path, device: torch.device | str = "cpu"):
        self.segmenter = Segmenter.load(path, device=device, precision="fp32")

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.segmenter.model(images.contiguous()).float()
        return logits.clone()  # out of inference mode: the student's loss may use it in autograd
