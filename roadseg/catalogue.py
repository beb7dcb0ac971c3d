"""The shipped models, read from models/catalogue.toml: name, version, weights, served form, dataset, default."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
CATALOGUE = MODELS_DIR / "catalogue.toml"
SERVED_FORMS = {"int8.onnx": ".int8.onnx", "safetensors": None}


def archive_name(name: str, version: str) -> str:
    """The model store's file for one version: roadseg_v2.0.mar."""
    return f"{name}_v{version}.mar"


@dataclass(frozen=True)
class ShippedModel:
    """One committed model version: its weights and config in models/, its archive in the model store."""

    name: str
    version: str
    stem: str
    served: str
    dataset: str
    models_dir: Path = MODELS_DIR

    def __post_init__(self) -> None:
        if self.served not in SERVED_FORMS:
            raise ValueError(f"{self.stem}: served {self.served!r}; choose one of {', '.join(SERVED_FORMS)}")

    @property
    def weights(self) -> Path:
        return self.models_dir / f"{self.stem}.safetensors"

    @property
    def config(self) -> Path:
        return self.models_dir / f"{self.stem}.json"

    @property
    def onnx(self) -> Path | None:
        suffix = SERVED_FORMS[self.served]
        return self.models_dir / f"{self.stem}{suffix}" if suffix else None

    @property
    def sources(self) -> list[Path]:
        return [self.weights, self.config, *([self.onnx] if self.onnx else [])]

    @property
    def runtime(self) -> str:
        return "onnxruntime" if self.onnx else "torch"

    @property
    def archive_name(self) -> str:
        return archive_name(self.name, self.version)

    def is_present(self) -> bool:
        return all(path.exists() for path in self.sources)


def read_catalogue(path: Path = CATALOGUE) -> tuple[ShippedModel, ...]:
    """The catalogue's entries in order (each name's default first); a clear error for a malformed one."""
    entries = tomllib.loads(path.read_text())["model"]
    keys = {"name", "version", "stem", "served", "dataset"}
    models = []
    for entry in entries:
        if set(entry) != keys:
            raise ValueError(f"{path}: an entry needs exactly {sorted(keys)}, got {sorted(entry)}")
        models.append(ShippedModel(**entry, models_dir=path.parent))
    pairs = [(m.name, m.version) for m in models]
    if len(set(pairs)) != len(pairs):
        raise ValueError(f"{path}: a (name, version) is listed twice")
    return tuple(models)


# Empty where the repository's models/ is not installed beside the package (e.g. `pip install .[embedded]` from
# a wheel): the embedded runtime then takes .onnx graphs only.
SHIPPED_MODELS = read_catalogue() if CATALOGUE.is_file() else ()


def default_versions(models: tuple[ShippedModel, ...] = SHIPPED_MODELS) -> dict[str, str]:
    """Each model name's default version: the first the catalogue lists."""
    defaults: dict[str, str] = {}
    for model in models:
        defaults.setdefault(model.name, model.version)
    return defaults
