"""ONNX Runtime sessions as every runtime here opens them (PyTorch-free: the embedded path imports this)."""

from __future__ import annotations

import os

import onnxruntime as ort

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


def cpu_session(model: str | bytes, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session of a graph (a path or the serialised bytes)."""
    return ort.InferenceSession(model, session_options(threads), providers=["CPUExecutionProvider"])
