"""What one training run is: a frozen, typed config that `training.train` takes.

The CLI parses into it (`training.train`), a recipe file's [train] table loads into it (`training.recipes`), and
grids of pilots derive their variants from one with `dataclasses.replace`. Its defaults are the only ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segmenter.models import MODEL_REGISTRY
from segmenter.precision import PRECISIONS
from training.class_weights import CLASS_WEIGHTINGS
from training.datasets import DATASETS
from training.early_stopping import MONITORS
from training.losses import LOSSES

OPTIMIZERS = ("adamw", "sgd")
LR_SCHEDULES = ("poly", "cosine", "constant")
_PATHS = ("data_root", "output", "encoder_weights", "mix_data_root", "init_weights", "teacher", "resume")
_CHOICES = {
    "model": sorted(MODEL_REGISTRY),
    "dataset": sorted(DATASETS),
    "mix_dataset": sorted(DATASETS),
    "loss": sorted(LOSSES),
    "class_weights": list(CLASS_WEIGHTINGS),
    "precision": list(PRECISIONS),
    "optimizer": list(OPTIMIZERS),
    "lr_schedule": list(LR_SCHEDULES),
    "monitor": sorted(MONITORS),
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run: model, data, schedule, loss, starting weights, teacher and where it writes."""

    model: str
    dataset: str
    data_root: Path
    output: Path
    width: float = 1.0
    epochs: int = 50
    batch_size: int = 8
    eval_batch_size: int = 4
    loss: str = "ce_dice"
    class_weights: str = "none"
    precision: str = "auto"
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    lr_schedule: str = "poly"
    warmup_epochs: float = 1.0
    monitor: str = "miou"
    patience: int = 10
    min_delta: float = 0.0
    short_side: int | None = None
    crop: tuple[int, int] | None = None
    limit_train: int | None = None
    train_share: float | None = None
    budget_minutes: float | None = None
    limit_val: int | None = None
    workers: int = 2
    cache_images: bool = False
    encoder_weights: Path | None = None
    imagenet_encoder: bool = False
    mix_dataset: str | None = None
    mix_data_root: Path | None = None
    mix_repeat: int = 1
    init_weights: Path | None = None
    teacher: Path | None = None
    kl_weight: float = 1.0
    kl_temperature: float = 2.0
    label_weight: float = 1.0
    unlabelled_repeat: int = 0
    resume: Path | None = None
    checkpoint_minutes: float = 10.0
    compile: bool = False
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _PATHS:  # recipes and callers may give strings
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.crop is not None:
            object.__setattr__(self, "crop", tuple(int(side) for side in self.crop))
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise ValueError(f"{name} = {value!r} is not one of {', '.join(map(str, choices))}")
        if self.crop is not None and len(self.crop) != 2:
            raise ValueError(f"crop is (height, width), got {self.crop}")
        if self.train_share is not None and not 0 < self.train_share <= 1:
            raise ValueError(f"train_share must be in (0, 1], got {self.train_share}")
        if self.mix_dataset and not self.mix_data_root:
            raise ValueError("mix_dataset needs mix_data_root")
        if self.unlabelled_repeat and not self.teacher:
            raise ValueError("unlabelled_repeat needs a teacher")

    @classmethod
    def from_table(cls, table: Mapping[str, Any], data_dir: Path | None = None, **given: Any) -> TrainConfig:
        """A recipe's [train] table (plus `given` fields, e.g. output); each dataset's root, when the table does
        not name it, is `data_dir`/<dataset>."""
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(unknown)}")
        values = {**table, **given}
        if data_dir is not None and "dataset" in values:
            values.setdefault("data_root", Path(data_dir) / values["dataset"])
            if values.get("mix_dataset"):
                values.setdefault("mix_data_root", Path(data_dir) / values["mix_dataset"])
        missing = sorted(field for field in ("model", "dataset", "data_root", "output") if field not in values)
        if missing:
            raise ValueError(f"missing training settings: {', '.join(missing)}")
        return cls(**values)

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what a recipe would have to say)."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.default is dataclasses.MISSING or getattr(self, field.name) != field.default
        }
