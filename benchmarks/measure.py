"""What every benchmark measures the same way: timed calls, the machine's fp32 peak, a model's MACs, the CPU's name.
PyTorch is imported only by the functions that need it: the embedded runtime's benchmark runs without it."""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def timed(fn: Callable[[], object], runs: int, budget_s: float = 30.0) -> list[float]:
    """Seconds per call after one warm-up: `runs` calls, or fewer (at least 3) once `budget_s` is spent."""
    fn()
    times: list[float] = []
    spent = time.perf_counter()
    while len(times) < runs and (len(times) < 3 or time.perf_counter() - spent < budget_s):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def peak_gflops() -> float:
    """The best fp32 matrix-multiply rate of this process's threads (GFLOP/s)."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    best = min(timed(lambda: a @ b, 8))
    return 2 * 2048**3 / best / 1e9


def model_macs(model: torch.nn.Module, height: int, width: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 3, height, width))
    return counter.get_total_flops() / 2


def peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's peak resident memory (MB) since it started its program: Linux's VmHWM.

    Not `getrusage`'s ru_maxrss, which a spawned process inherits from its parent's memory at the fork."""
    found = re.search(r"^VmHWM:\s*(\d+) kB", status.read_text(), re.MULTILINE)
    if not found:
        raise RuntimeError(f"{status} has no VmHWM line (not Linux?)")
    return int(found.group(1)) / 1024


def cpu_name() -> str:
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    except OSError:
        found = None
    return found.group(1).strip() if found else platform.processor() or platform.machine()
