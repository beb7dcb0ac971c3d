"""An ONNX graph run by ONNX Runtime, behind the same call as the PyTorch model: (N, 3, H, W) -> logits."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from roadseg.categories import NUM_CATEGORIES
from segmenter.onnx_session import INPUT_NAME, OUTPUT_NAME, cpu_session, cpu_threads, session_options

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "OnnxModel", "cpu_threads", "session_options"]


class OnnxModel(nn.Module):
    """ONNX Runtime on the CPU as an `nn.Module`, so evaluation, the handler and the benchmark call it as they
    call the PyTorch model. It holds no parameters; `model` is a path or the serialised graph."""

    def __init__(self, model: str | Path | bytes, threads: int | None = None, num_classes: int = NUM_CATEGORIES):
        super().__init__()
        source = model if isinstance(model, bytes) else str(model)
        self.session = cpu_session(source, threads)
        self.num_classes = num_classes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.detach().float().cpu().contiguous().numpy()
        return torch.from_numpy(self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0])
