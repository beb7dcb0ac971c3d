"""The training split's order: one shuffle per (seed, epoch), so a run resumed mid-epoch takes up where it was."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """Shuffled indices of one epoch, identical on every run for the same (seed, epoch); under torchrun each
    process takes every `world_size`-th (the order padded, as DistributedSampler pads it, to a multiple of
    `world_size`). `set_epoch(epoch, skip)` skips the first `skip` indices: those of the batches a resumed
    run already trained on."""

    def __init__(self, size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        if size <= 0:
            raise ValueError("EpochSampler needs a non-empty dataset")
        self.size, self.seed, self.rank, self.world_size = size, seed, rank, world_size
        self.per_process = -(-size // world_size)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        if not 0 <= skip <= self.per_process:
            raise ValueError(f"cannot skip {skip} of the epoch's {self.per_process} samples")
        self.epoch, self.skip = epoch, skip

    def epoch_order(self) -> list[int]:
        """This process's indices of the whole epoch, skipped ones included."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        order += order[: self.per_process * self.world_size - self.size]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_order()[self.skip :])

    def __len__(self) -> int:
        return self.per_process - self.skip
