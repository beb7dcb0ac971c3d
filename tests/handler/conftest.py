"""Drive the handler as a TorchServe worker does: an extracted archive and TorchServe's own Context."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import ts
from ts.context import Context, RequestProcessor
from ts.metrics.metric_cache_yaml_impl import MetricsCacheYamlImpl

from handler.segmentation_handler import SegmentationHandler

# TorchServe's own metrics cache, from the metrics.yaml it ships.
METRICS = MetricsCacheYamlImpl(str(Path(ts.__file__).parent / "configs" / "metrics.yaml"))


def torchserve_context(model_dir: Path, manifest: dict, requests: int) -> Context:
    """The Context a TorchServe worker builds for a batch of `requests`."""
    context = Context("roadseg", str(model_dir), manifest, 4, None, "0.12.0", metrics=METRICS)
    context.request_processor = [RequestProcessor({}) for _ in range(requests)]
    return context


def load_handler(archive: Path, workdir: Path) -> tuple[SegmentationHandler, Path, dict]:
    """Extract `archive` as TorchServe does and initialise the handler from it."""
    model_dir = workdir / "model"
    zipfile.ZipFile(archive).extractall(model_dir)
    manifest = json.loads((model_dir / "MAR-INF" / "MANIFEST.json").read_text())
    handler = SegmentationHandler()
    handler.initialize(torchserve_context(model_dir, manifest, 1))
    return handler, model_dir, manifest
