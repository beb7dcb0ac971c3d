"""One training epoch and one evaluation pass: plain functions over a model and a loader."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from training.inference import logits_at_size
from training.metrics import ConfusionMatrix


def autocast(device: torch.device):
    """bf16 mixed precision on CUDA; full precision on the CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    description: str = "train",
) -> float:
    """Mean training loss over the epoch (the scheduler steps per iteration)."""
    model.train()
    total, count = 0.0, 0
    progress = tqdm(loader, desc=description, leave=False, dynamic_ncols=True)
    for images, masks in progress:
        images, masks = images.to(device, non_blocking=True), masks.to(device, non_blocking=True)
        with autocast(device):
            loss = loss_fn(model(images).float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * images.shape[0]
        count += images.shape[0]
        progress.set_postfix(loss=f"{total / count:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
    return total / max(count, 1)


@torch.inference_mode()
def evaluate(
    model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device, description: str = "val"
) -> tuple[float, ConfusionMatrix]:
    """Mean loss and the split's confusion matrix; logits are resized to each mask's native size."""
    model.eval()
    confusion = ConfusionMatrix(model.num_classes)
    total, count = 0.0, 0
    for images, masks in tqdm(loader, desc=description, leave=False, dynamic_ncols=True):
        images, masks = images.to(device, non_blocking=True), masks.to(device, non_blocking=True)
        with autocast(device):
            logits = model(images)
        logits = logits_at_size(logits.float(), tuple(masks.shape[-2:]))
        total += loss_fn(logits, masks).item() * images.shape[0]
        count += images.shape[0]
        confusion.update(masks, logits.argmax(1))
    return total / max(count, 1), confusion
