"""How long one training step takes here: forward + loss + backward + AdamW on random data (no data loading)."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from segmenter.models import SegmentationModel
from segmenter.precision import autocast


def training_step_seconds(
    model: SegmentationModel,
    loss_fn: nn.Module,
    batch: int,
    crop: tuple[int, int],
    precision: str,
    layout: torch.memory_format,
    compiled: bool = False,
    steps: int = 3,
    warmup: int = 2,
) -> float:
    """Median seconds of `steps` timed steps after `warmup` untimed ones (torch.compile compiles during those), on
    the CPU, at a resolved `precision` with inputs in `layout`; the model is put in `layout` and trained."""
    device = torch.device("cpu")
    model = model.to(memory_format=layout).train()
    forward = torch.compile(model) if compiled else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(batch, 3, *crop).contiguous(memory_format=layout)
    masks = torch.randint(0, model.num_classes, (batch, crop[0], crop[1]))
    times = []
    for step in range(warmup + steps):
        started = time.perf_counter()
        with autocast(device, precision):
            loss = loss_fn(forward(images).float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times)
