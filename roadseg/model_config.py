"""What it takes to rebuild and feed a model: registry name, builder kwargs, inference scale (and, in an
archive, its TorchServe name and version). Stored as JSON in checkpoints, models/ and archives."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# The handler names the version that answered in this header of TorchServe's response; the gateway passes it on.
MODEL_VERSION_HEADER = "X-Model-Version"


@dataclass(frozen=True)
class ModelConfig:
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    short_side: int = 360
    dataset: str = ""
    name: str | None = None
    version: str | None = None

    @property
    def width(self) -> float:
        return float(self.model_kwargs.get("width", 1.0))

    def for_archive(self, name: str, version: str) -> ModelConfig:
        return replace(self, name=name, version=version)

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
