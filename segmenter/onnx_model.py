"""An ONNX graph run by ONNX Runtime, behind the same call as the PyTorch model: (N, 3, H, W) -> logits."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort
import torch
from torch import nn

from roadseg.categories import NUM_CATEGORIES

INPUT_NAME, OUTPUT_NAME = "image", "logits"


def cpu_threads() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """All graph optimisations, `threads` intra-op threads (default: every core), no inter-op pool, and no
    spinning: idle threads sleep instead of busy-waiting on cores the server's other processes need."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxModel(nn.Module):
    """ONNX Runtime on the CPU as an `nn.Module`, so evaluation, the handler and the benchmark call it as they
    call the PyTorch model. It holds no parameters; `model` is a path or the serialised graph."""

    def __init__(self, model: str | Path | bytes, threads: int | None = None, num_classes: int = NUM_CATEGORIES):
        super().__init__()
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
        self.num_classes = num_classes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.detach().float().cpu().contiguous().numpy()
        return torch.from_numpy(self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0])
