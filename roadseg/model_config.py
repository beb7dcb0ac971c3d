"""What it takes to rebuild and feed a model: registry name, builder kwargs, inference scale (and, in an
archive, its TorchServe name and version, and how the handler runs it: runtime and precision). Stored as
JSON in checkpoints, models/ and archives."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# How the model runs: PyTorch (weights as safetensors) or ONNX Runtime (an .onnx graph, e.g. INT8-quantised).
RUNTIMES = ("torch", "onnxruntime")
# PyTorch's arithmetic; auto: bf16 autocast + channels-last on CUDA or a CPU with native bf16, else fp32.
PRECISIONS = ("auto", "fp32", "bf16")
# The inference scale of a config that does not say (CamVid's native short side): the shorter image side, px.
DEFAULT_SHORT_SIDE = 360


@dataclass(frozen=True)
class ModelConfig:
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    short_side: int = DEFAULT_SHORT_SIDE
    dataset: str = ""
    name: str | None = None
    version: str | None = None
    runtime: str = "torch"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {self.runtime!r}; choose one of {', '.join(RUNTIMES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")

    @property
    def width(self) -> float:
        return float(self.model_kwargs.get("width", 1.0))

    def for_archive(
        self, name: str, version: str, runtime: str | None = None, precision: str | None = None
    ) -> ModelConfig:
        """The config an archive carries: TorchServe name and version, and `runtime` / `precision` if given."""
        return replace(
            self, name=name, version=version, runtime=runtime or self.runtime, precision=precision or self.precision
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """From a stored config; keys that are not fields (e.g. the export's validation figures) are ignored."""
        known = {f.name for f in fields(cls)}
        if "model" not in data:
            raise ValueError(f"a model config needs 'model' (the registry name); got keys {sorted(data)}")
        values = {k: v for k, v in data.items() if k in known}
        values["model_kwargs"] = dict(values.get("model_kwargs") or {})
        values["short_side"] = int(values.get("short_side", cls.short_side))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def read(cls, path: str | Path) -> ModelConfig:
        return cls.from_json(Path(path).read_text())

    @classmethod
    def beside_onnx(cls, path: str | Path) -> ModelConfig:
        """The config of an exported or quantised graph: X.onnx.json's "config" (training.export, .quantize)."""
        path = Path(path)
        check = path.with_name(path.name + ".json")
        if not check.is_file():
            raise FileNotFoundError(f"{path}: its config {check.name} is not beside it")
        return replace(cls.from_dict(json.loads(check.read_text())["config"]), runtime="onnxruntime")
