"""Numeric precision for training and inference: bf16 autocast + channels-last where the hardware has bf16."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import nn

from roadseg.model_config import PRECISIONS

__all__ = ["PRECISIONS", "autocast", "cpu_has_bf16", "memory_format", "prepare_model", "resolve_precision"]
PRECISION_HELP = "auto: bf16 autocast + channels-last on CUDA or a CPU with bf16, else fp32"


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True on a CPU with native bf16 arithmetic (AVX-512 BF16 or AMX), where oneDNN runs bf16 fast.
    Read from the kernel's CPU flags: torch 2.14 exposes no bf16 probe (its capability stops at "AVX512")."""
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device, has_bf16_cpu: bool | None = None) -> str:
    """'auto' -> 'bf16' on CUDA or on a CPU with bf16, else 'fp32'; an explicit choice is kept."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16"
    if device.type == "cpu":
        return "bf16" if (cpu_has_bf16() if has_bf16_cpu is None else has_bf16_cpu) else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for a resolved precision of 'bf16'; a no-op context for 'fp32'."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def memory_format(precision: str) -> torch.memory_format:
    """Channels-last with bf16 (oneDNN's and cuDNN's fast layout); the default layout for fp32."""
    return torch.channels_last if precision == "bf16" else torch.contiguous_format


def prepare_model(model: nn.Module, precision: str) -> nn.Module:
    """Move the model's 4-D weights to the precision's memory format (in place; returns the model)."""
    return model.to(memory_format=memory_format(precision))
