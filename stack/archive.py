"""The archive the main job serves: from the shipped weights when present, else a freshly initialised model.

    python -m stack.archive [--model-store DIR] [--rebuild]     (the TorchServe image runs this too)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training import archive

REPO_ROOT = Path(__file__).resolve().parent.parent
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-store", type=Path, default=REPO_ROOT / "model_store", help="where roadseg.mar goes")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args()
    ensure_archive(args.model_store, args.rebuild)
