"""Training on many processes under torchrun: DistributedDataParallel, sharded data, reduced metrics.

One process (no torchrun) is the same code with every step below a no-op. torchrun sets WORLD_SIZE, RANK and
LOCAL_RANK; the process group is nccl on GPUs (one per local rank) and gloo on CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, Subset


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (rank 0 logs, saves and decides)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Processes()  # training without torchrun


def start(device: torch.device) -> tuple[Processes, torch.device]:
    """Join torchrun's process group when there is one; the device becomes this local rank's GPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE, device
    processes = Processes(int(os.environ["RANK"]), world_size, int(os.environ["LOCAL_RANK"]))
    if device.type == "cuda":
        device = torch.device("cuda", processes.local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return processes, device


def stop(processes: Processes) -> None:
    if processes.distributed:
        dist.destroy_process_group()


def wrap(model: nn.Module, processes: Processes, device: torch.device) -> nn.Module:
    """The module to train: `model` itself, or DDP around it (batch norm synchronised on GPUs; gloo has no
    SyncBatchNorm, so on CPUs each process normalises its own batch and DDP broadcasts rank 0's running
    statistics). Evaluate and save `model`: its parameters are the ones DDP keeps in step."""
    if not processes.distributed:
        return model
    if device.type == "cuda":
        converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # swaps the children in place
        assert converted is model, "the model's root module is not a batch norm"
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard(dataset: Dataset, processes: Processes) -> Dataset:
    """Every `world_size`-th item from this rank's: each item evaluated once, none repeated as padding, so the
    summed confusion matrix is the single-process one."""
    if not processes.distributed:
        return dataset
    return Subset(dataset, range(processes.rank, len(dataset), processes.world_size))  # type: ignore[arg-type]


def _collective_device() -> torch.device:
    """Where tensors must be for the process group's collectives: the GPU for nccl, the CPU for gloo."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def summed(tensor: torch.Tensor, processes: Processes) -> torch.Tensor:
    """The element-wise sum over all processes, where the input was (a copy; the input is left alone)."""
    if not processes.distributed:
        return tensor.clone()
    total = tensor.to(_collective_device(), copy=True)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.to(tensor.device)


def from_main(flag: bool, processes: Processes) -> bool:
    """Rank 0's value of `flag`, on every process (e.g. whether to stop early)."""
    if not processes.distributed:
        return flag
    value = torch.tensor([int(flag)], device=_collective_device())
    dist.broadcast(value, src=0)
    return bool(value.item())


def replicas_agree(model: nn.Module, processes: Processes) -> bool:
    """Whether every process holds the same parameters (a float64 checksum of each, compared across ranks)."""
    if not processes.distributed:
        return True
    with torch.no_grad():
        checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).to(_collective_device())
    gathered = [torch.empty_like(checksum) for _ in range(processes.world_size)]
    dist.all_gather(gathered, checksum)
    return all(torch.equal(gathered[0], other) for other in gathered[1:])
