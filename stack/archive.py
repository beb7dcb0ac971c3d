"""The archives the main job serves: one per shipped model version, or an untrained placeholder.

    python -m stack.archive [--model-store DIR] [--rebuild]     (the TorchServe image runs this too)

models/ holds each shipped version as weights + config (`vgg16_unet_v<version>.safetensors/.json`).
Each becomes model_store/roadseg_v<version>.mar; TorchServe loads them in SHIPPED_MODELS order, and
the first one it loads is the default version.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from training import archive

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
MODEL_NAME = "roadseg"
PLACEHOLDER_ARCHIVE = f"{MODEL_NAME}.mar"


@dataclass(frozen=True)
class ShippedModel:
    """One committed model version: its weights and config in models/, its archive in the model store."""

    version: str
    stem: str

    @property
    def weights(self) -> Path:
        return MODELS_DIR / f"{self.stem}.safetensors"

    @property
    def config(self) -> Path:
        return MODELS_DIR / f"{self.stem}.json"

    @property
    def archive_name(self) -> str:
        return f"{MODEL_NAME}_v{self.version}.mar"

    def is_present(self) -> bool:
        return self.weights.exists() and self.config.exists()


# The default version first: TorchServe makes the first version it loads the default.
SHIPPED_MODELS = (ShippedModel("2.0", "vgg16_unet_v2.0"), ShippedModel("1.0", "vgg16_unet_v1.0"))


def _build(argv: list[str], path: Path) -> Path:
    argv = [*argv, "--export-path", str(path.parent), "--file-name", path.name]
    return archive.build_archive(archive.get_args_parser().parse_args(argv))


def _is_stale(path: Path, sources: list[Path]) -> bool:
    return not path.exists() or any(p.stat().st_mtime > path.stat().st_mtime for p in sources)


def ensure_archives(model_store: Path, rebuild: bool = False) -> list[Path]:
    """The archives of the shipped versions, default first, (re)built when missing or older than the weights.

    With no shipped weights, one untrained small VGG16 U-Net (version 0.1) keeps every path running."""
    model_store.mkdir(parents=True, exist_ok=True)
    shipped = [m for m in SHIPPED_MODELS if m.is_present()]
    if not shipped:
        path = model_store / PLACEHOLDER_ARCHIVE
        if rebuild or not path.exists():
            _build(["--init", "vgg16_unet", "--width", "0.25", "--version", "0.1"], path)
        return [path]
    paths = []
    for model in shipped:
        path = model_store / model.archive_name
        if rebuild or _is_stale(path, [model.weights, model.config]):
            _build(["--weights", str(model.weights), "--config", str(model.config), "--name", MODEL_NAME,
                    "--version", model.version], path)
        paths.append(path)
    return paths


def torchserve_models(archives: list[Path]) -> str:
    """TorchServe's --models value: every archive under the one model name, the default first."""
    return ",".join(f"{MODEL_NAME}={path.name}" for path in archives)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-store", type=Path, default=REPO_ROOT / "model_store", help="where the archives go")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args()
    print("TorchServe --models " + torchserve_models(ensure_archives(args.model_store, args.rebuild)))
