"""The embedded runtime: an ONNX graph of a shipped model run by ONNX Runtime, with NumPy and Pillow around it and
no PyTorch, for a vehicle's computer (`pip install .[embedded]`).

    segmenter = EmbeddedSegmenter.load("roadseg-rt")        # a shipped model's name, or a path to an .onnx graph
    ids = segmenter.segment(rgb)                            # (H, W) uint8 category ids, the frame's size

Its masks are those of `segmenter.segmenter.Segmenter` on the same graph: the same preparation
(`roadseg.preprocessing.model_input`) and the same logits-to-ids step, in NumPy (`roadseg.logits`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadseg.catalogue import SHIPPED_MODELS, ShippedModel, default_versions
from roadseg.logits import category_ids_at_size, confidence_at_size
from roadseg.model_config import ModelConfig
from roadseg.preprocessing import model_input
from segmenter.onnx_session import INPUT_NAME, OUTPUT_NAME, cpu_session


def shipped_graph(name: str, version: str | None = None) -> Path:
    """The ONNX graph a shipped model is served as (its default version unless `version`)."""
    names = sorted({m.name for m in SHIPPED_MODELS})
    if not names:
        raise ValueError("no shipped models here (no models/catalogue.toml beside the package): pass an .onnx graph")
    if name not in names:
        raise ValueError(f"no shipped model is called {name!r}; the shipped models are {', '.join(names)}")
    version = version or default_versions()[name]
    found: list[ShippedModel] = [m for m in SHIPPED_MODELS if (m.name, m.version) == (name, version)]
    if not found:
        versions = ", ".join(m.version for m in SHIPPED_MODELS if m.name == name)
        raise ValueError(f"{name} has no version {version}; it has {versions}")
    onnx = found[0].onnx
    if onnx is None:
        raise ValueError(f"{name} {version} is served by PyTorch, not as an ONNX graph; choose another version")
    if not onnx.is_file():
        raise FileNotFoundError(f"{onnx}: the graph of {name} {version} is missing (a clone without Git LFS?)")
    return onnx


class EmbeddedSegmenter:
    """An ONNX graph in ONNX Runtime, with the preparation and the logits-to-mask steps around it."""

    def __init__(self, graph: Path, config: ModelConfig, threads: int | None = None):
        self.graph = graph
        self.config = config
        self.session = cpu_session(str(graph), threads)

    @classmethod
    def load(cls, model: str | Path, threads: int | None = None) -> EmbeddedSegmenter:
        """A shipped model's name (optionally NAME:VERSION) or a path to an .onnx graph with its .onnx.json."""
        path = Path(model)
        if path.suffix == ".onnx":
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such ONNX graph")
            return cls(path, ModelConfig.beside_onnx(path), threads)
        if path.suffix:
            raise ValueError(f"{model}: the embedded runtime runs ONNX graphs (.onnx) or shipped models by name")
        name, _, version = str(model).partition(":")
        graph = shipped_graph(name, version or None)
        return cls(graph, ModelConfig.beside_onnx(graph), threads)

    @property
    def short_side(self) -> int:
        return self.config.short_side

    def logits(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (C, h, w) float32 logits at the model's scale."""
        batch = model_input(rgb, self.short_side)[None]
        output: np.ndarray = self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
        return output[0]

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) uint8 category ids."""
        return category_ids_at_size(self.logits(rgb), rgb.shape[:2])

    def segment_with_confidence(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, confidence): both (H, W) uint8, from the same logits; confidence 255 = sure."""
        logits = self.logits(rgb)
        return category_ids_at_size(logits, rgb.shape[:2]), confidence_at_size(logits, rgb.shape[:2])
