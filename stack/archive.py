"""The archive the main job serves: from the shipped weights when present, else a freshly initialised model."""

from __future__ import annotations

from pathlib import Path

from stack.processes import REPO_ROOT
from training import archive

SHIPPED_WEIGHTS = REPO_ROOT / "models" / "vgg16_unet.safetensors"
SHIPPED_CONFIG = REPO_ROOT / "models" / "vgg16_unet.json"


def archive_argv(export_path: Path) -> list[str]:
    if SHIPPED_WEIGHTS.exists() and SHIPPED_CONFIG.exists():
        return ["--weights", str(SHIPPED_WEIGHTS), "--config", str(SHIPPED_CONFIG), "--version", "1.0",
                "--export-path", str(export_path)]
    # No trained model shipped yet: an untrained small VGG16 U-Net keeps every path running.
    return ["--init", "vgg16_unet", "--width", "0.25", "--version", "0.1", "--export-path", str(export_path)]


def ensure_archive(model_store: Path, rebuild: bool = False) -> Path:
    path = model_store / "roadseg.mar"
    sources = [p for p in (SHIPPED_WEIGHTS, SHIPPED_CONFIG) if p.exists()]
    stale = path.exists() and any(p.stat().st_mtime > path.stat().st_mtime for p in sources)
    if rebuild or stale or not path.exists():
        archive.build_archive(archive.get_args_parser().parse_args(archive_argv(model_store)))
    return path
