"""One training epoch and one evaluation pass: plain functions over a model and a loader."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from segmenter.logits import logits_at_size
from segmenter.models import SegmentationModel
from segmenter.precision import autocast, memory_format
from training.metrics import ConfusionMatrix


def choose_device(name: str) -> torch.device:
    """'auto': CUDA when present, else the CPU; any other name as torch spells it (cpu, cuda:1...)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass(frozen=True)
class EpochStats:
    """What one training epoch did (or has done so far): mean loss, wall time, the share of it spent waiting
    for data, images and optimiser steps."""

    loss: float
    seconds: float
    data_seconds: float
    images: int
    steps: int = 0

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    @property
    def data_wait_share(self) -> float:
        return self.data_seconds / self.seconds if self.seconds else 0.0


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    precision: str = "fp32",
    description: str = "train",
    show_progress: bool = True,
    done: EpochStats | None = None,
    after_step: Callable[[EpochStats], None] | None = None,
    teacher: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EpochStats:
    """One pass over `loader` (the scheduler steps per iteration); times the steps and the data waits.
    `done`: what a resumed epoch had already done (the loader then yields the rest); `after_step` sees the
    epoch's running figures after every step (e.g. to write a checkpoint). With a `teacher`, `loss_fn` takes
    its logits of the same batch as a third argument (`training.distillation`)."""
    model.train()
    layout = memory_format(precision)
    done = done or EpochStats(0.0, 0.0, 0.0, 0)
    total, count, data_seconds, steps = done.loss * done.images, done.images, done.data_seconds, done.steps
    progress = tqdm(
        loader, desc=description, leave=False, dynamic_ncols=True, disable=not show_progress, initial=done.steps
    )
    started = waited_from = time.perf_counter()
    so_far = lambda: EpochStats(
        total / max(count, 1), done.seconds + time.perf_counter() - started, data_seconds, count, steps
    )
    for images, masks in progress:
        data_seconds += time.perf_counter() - waited_from
        images = images.to(device, non_blocking=True).contiguous(memory_format=layout)
        masks = masks.to(device, non_blocking=True)
        taught = () if teacher is None else (teacher(images),)
        with autocast(device, precision):
            loss = loss_fn(model(images).float(), masks, *taught)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * images.shape[0]
        count += images.shape[0]
        steps += 1
        progress.set_postfix(loss=f"{total / count:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        if after_step is not None:
            after_step(so_far())
        waited_from = time.perf_counter()
    return so_far()


@torch.inference_mode()
def evaluate(
    model: SegmentationModel,
    loader: DataLoader,
    loss_fn: nn.Module,
    device: torch.device,
    precision: str = "fp32",
    description: str = "val",
    show_progress: bool = True,
) -> tuple[float, ConfusionMatrix]:
    """Mean loss and the split's confusion matrix; logits are resized to each mask's native size."""
    model.eval()
    layout = memory_format(precision)
    confusion = ConfusionMatrix(model.num_classes)
    total, count = 0.0, 0
    for images, masks in tqdm(loader, desc=description, leave=False, dynamic_ncols=True, disable=not show_progress):
        images = images.to(device, non_blocking=True).contiguous(memory_format=layout)
        masks = masks.to(device, non_blocking=True)
        with autocast(device, precision):
            logits = model(images)
        logits = logits_at_size(logits.float(), tuple(masks.shape[-2:]))
        total += loss_fn(logits, masks).item() * images.shape[0]
        count += images.shape[0]
        confusion.update(masks, logits.argmax(1))
    return total / max(count, 1), confusion
