"""Recipe files (recipes/*.toml): how a shipped model, or a grid of pilots, is trained.

[train]            TrainConfig's fields (training.config), without data roots or run directory
[ship]             a shipped model's recipe: name and version (its catalogue entry), docs folder, what else
                   it is evaluated on, the inference scales of its speed/accuracy curve (training.ship)
[variants.NAME]    a grid's runs: each [train] with these changes (training.compare)
[table]            a grid's table: output path, per-category columns, latency size and runs, budget minutes,
                   datasets each run is also evaluated on
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTIONS = ("train", "ship", "variants", "table")


@dataclass(frozen=True)
class Recipe:
    path: Path
    train: dict[str, Any]
    ship: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    table: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file's stem: a grid's run directories sit under it."""
        return self.path.stem


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe file; a clear error for a missing file, bad TOML or an unknown section."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"no recipe at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise SystemExit(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"{path}: unknown sections {', '.join(unknown)} (a recipe has {', '.join(SECTIONS)})")
    if "train" not in data:
        raise SystemExit(f"{path}: no [train] table")
    return Recipe(path, data["train"], data.get("ship", {}), data.get("variants", {}), data.get("table", {}))
