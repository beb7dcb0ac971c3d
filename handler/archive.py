"""TorchServe archives of the segmentation model: build one, build the shipped versions, load one back.

    python -m handler.archive shipped [--model-store DIR] [--rebuild]     (`make run` and the TorchServe image)
    python -m handler.archive build --checkpoint runs/vgg16_unet/best.pt --version 3.0
    python -m handler.archive build --weights models/x.safetensors --version 3.0 --half   (x.json beside it)
    python -m handler.archive build --init unet_mini --width 0.25 --version 0.1          (untrained, for wiring)
    python -m handler.archive build --weights models/x.safetensors --onnx models/x.int8.onnx --version 3.1

An archive holds the model, model_config.json (registry name, builder kwargs, inference scale, name,
version, runtime, precision), model-config.yaml (TorchServe batching and workers) and the handler. The
model is PyTorch weights (safetensors; runtime `torch`, run at the config's precision) or, with --onnx, an
ONNX graph of the same model (runtime `onnxruntime`, e.g. INT8 from `training.quantize`). models/ holds
each shipped version as weights + config (+ its ONNX graph); each becomes model_store/<name>_v<version>.mar,
under the VGG16 U-Net's model name (roadseg) or the real-time model's (roadseg-rt). TorchServe loads them in
the catalogue's order (models/catalogue.toml), and the first version of each name it loads is that name's default.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from roadseg.catalogue import SHIPPED_MODELS, archive_name
from roadseg.contract import MODEL_NAME, REALTIME_MODEL_NAME, TORCHSERVE_BATCH_SIZE, TORCHSERVE_RESPONSE_TIMEOUT_S
from roadseg.model_config import DEFAULT_SHORT_SIDE, PRECISIONS, ModelConfig
from segmenter.archives import CONFIG_FILE, ONNX_FILE, WEIGHTS_FILE, archive_config
from segmenter.models import MODEL_REGISTRY
from segmenter.onnx_model import OnnxModel
from segmenter.weights import cast_floating, load_source, model_from_config

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDLER = Path(__file__).resolve().parent / "segmentation_handler.py"
PLACEHOLDER_VERSION = "0.1"


@dataclass(frozen=True)
class ServingOptions:
    """TorchServe's per-model settings, written into the archive's model-config.yaml."""

    batch_size: int = TORCHSERVE_BATCH_SIZE
    max_batch_delay_ms: int = 2
    workers: int = 1
    response_timeout_s: int = TORCHSERVE_RESPONSE_TIMEOUT_S

    def yaml(self) -> str:
        return (
            f"minWorkers: {self.workers}\nmaxWorkers: {self.workers}\nbatchSize: {self.batch_size}\n"
            f"maxBatchDelay: {self.max_batch_delay_ms}\nresponseTimeout: {self.response_timeout_s}\n"
        )


def archive_model_name(path: Path) -> str:
    """The model name an archive file is served under: roadseg-rt_v1.0.mar -> roadseg-rt."""
    name, separator, _ = path.name.removesuffix(".mar").rpartition("_v")
    if not separator or not name:
        raise ValueError(f"{path.name}: not an archive name of the form NAME_vVERSION.mar")
    return name


def model_archiver() -> str:
    local = Path(sys.executable).parent / "torch-model-archiver"
    found = str(local) if local.exists() else shutil.which("torch-model-archiver")
    if not found:
        raise SystemExit("torch-model-archiver not found: pip install torch-model-archiver")
    return found


def build_archive(
    config: ModelConfig,
    state: dict[str, torch.Tensor],
    version: str,
    path: Path,
    name: str = MODEL_NAME,
    half: bool = False,
    options: ServingOptions = ServingOptions(),
    onnx: Path | None = None,
    precision: str = "auto",
) -> Path:
    """Write `path` (a .mar) serving `config` + `state` as model `name` at `version`: by PyTorch at
    `precision` (fp16-stored weights with `half`), or, given `onnx` (a graph of the same model), by ONNX Runtime."""
    model_from_config(config, state)  # the weights fit the config: fail here, not in TorchServe
    if onnx is not None:
        try:
            OnnxModel(onnx, threads=1)  # a graph ONNX Runtime loads: fail here, not in TorchServe
        except Exception as error:  # ONNX Runtime's own exception types are not importable by name
            raise ValueError(f"{onnx} is not an ONNX graph that ONNX Runtime can load ({error})") from None
    runtime = "torch" if onnx is None else "onnxruntime"
    config = config.for_archive(name, version, runtime=runtime, precision=precision)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        if onnx is None:
            serialized = staging / WEIGHTS_FILE
            save_file(cast_floating(state, torch.float16 if half else torch.float32), serialized)
        else:
            serialized = staging / ONNX_FILE
            shutil.copyfile(onnx, serialized)
        (staging / CONFIG_FILE).write_text(config.to_json())
        (staging / "model-config.yaml").write_text(options.yaml())
        subprocess.run(
            [
                model_archiver(),
                "--model-name",
                name,
                "--version",
                version,
                "--serialized-file",
                str(serialized),
                "--handler",
                str(HANDLER),
                "--extra-files",
                str(staging / CONFIG_FILE),
                "--config-file",
                str(staging / "model-config.yaml"),
                "--export-path",
                str(staging),
                "--force",
            ],
            check=True,
        )
        shutil.move(staging / f"{name}.mar", path)
    print(f"wrote {path} ({config.model} {config.model_kwargs}, version {version}, runtime {runtime})")
    return path


def untrained_source(
    model: str, width: float, short_side: int, seed: int = 0
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """A freshly initialised model (seeded): keeps every serving path running without trained weights."""
    torch.manual_seed(seed)
    config = ModelConfig(model, {"width": width}, short_side, dataset="none (untrained)")
    return config, model_from_config(config).state_dict()


def _is_stale(path: Path, sources: list[Path], runtime: str | None = None) -> bool:
    """Missing, older than a source, unreadable, or built for another runtime or other serving options (e.g. by
    an older checkout)."""
    if not path.exists() or any(p.stat().st_mtime > path.stat().st_mtime for p in sources):
        return True
    if runtime is None:
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            options = archive.read("model-config.yaml").decode()
        return archive_config(path).runtime != runtime or options != ServingOptions().yaml()
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return True


def ensure_archives(model_store: Path, rebuild: bool = False) -> list[Path]:
    """The archives of the shipped versions, default first, (re)built when missing or older than the weights.

    With no shipped weights, one untrained small VGG16 U-Net (version 0.1) keeps every path running."""
    model_store.mkdir(parents=True, exist_ok=True)
    shipped = [m for m in SHIPPED_MODELS if m.is_present()]
    if not shipped:
        path = model_store / archive_name(MODEL_NAME, PLACEHOLDER_VERSION)
        if rebuild or _is_stale(path, [HANDLER]):
            build_archive(*untrained_source("vgg16_unet", 0.25, DEFAULT_SHORT_SIDE), PLACEHOLDER_VERSION, path)
        return [path]
    paths = []
    for model in shipped:
        path = model_store / model.archive_name
        # The archive carries its own copy of the handler: a newer handler makes it stale too.
        if rebuild or _is_stale(path, [*model.sources, HANDLER], model.runtime):
            build_archive(*load_source(model.weights), model.version, path, model.name, onnx=model.onnx)
        paths.append(path)
    return paths


def torchserve_models(archives: list[Path]) -> str:
    """TorchServe's --models value: every archive under its model name, each name's default first."""
    return ",".join(f"{archive_model_name(path)}={path.name}" for path in archives)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest="command", required=True)
    shipped = commands.add_parser("shipped", help="build the archives of the shipped versions (models/)")
    shipped.add_argument("--model-store", type=Path, default=REPO_ROOT / "model_store", help="where the archives go")
    shipped.add_argument("--rebuild", action="store_true", help="rebuild even when up to date")
    build = commands.add_parser("build", help="build one archive")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a checkpoint written by training.train")
    source.add_argument("--weights", type=Path, help="exported safetensors weights (X.safetensors beside X.json)")
    source.add_argument("--init", choices=sorted(MODEL_REGISTRY), help="a freshly initialised model of this name")
    build.add_argument("--width", type=float, default=1.0, help="channel multiplier (with --init)")
    build.add_argument("--short-side", type=int, default=DEFAULT_SHORT_SIDE, help="inference scale (with --init)")
    build.add_argument("--seed", type=int, default=0, help="random seed (with --init)")
    build.add_argument(
        "--name", default=MODEL_NAME, help=f"model name in TorchServe ({MODEL_NAME}, {REALTIME_MODEL_NAME} or another)"
    )
    build.add_argument("--version", required=True, help="model version in TorchServe")
    build.add_argument("--output", type=Path, help="the .mar to write (default: model_store/NAME_vVERSION.mar)")
    build.add_argument("--half", action="store_true", help="store the weights in fp16 (loaded back as fp32)")
    build.add_argument(
        "--onnx", type=Path, help="serve this ONNX graph of the same model with ONNX Runtime (e.g. training.quantize's)"
    )
    build.add_argument(
        "--precision", default="auto", choices=PRECISIONS, help="PyTorch's arithmetic in the handler (runtime torch)"
    )
    defaults = ServingOptions()
    build.add_argument("--batch-size", type=int, default=defaults.batch_size, help="TorchServe batch size")
    build.add_argument(
        "--max-batch-delay", type=int, default=defaults.max_batch_delay_ms, help="ms TorchServe waits to fill a batch"
    )
    build.add_argument("--workers", type=int, default=defaults.workers, help="TorchServe workers (min = max)")
    build.add_argument(
        "--response-timeout",
        type=int,
        default=defaults.response_timeout_s,
        help="seconds before TorchServe fails a request",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = get_args_parser().parse_args(argv)
    if args.command == "shipped":
        print("TorchServe --models " + torchserve_models(ensure_archives(args.model_store, args.rebuild)))
        return
    if args.init:
        config, state = untrained_source(args.init, args.width, args.short_side, args.seed)
    else:
        config, state = load_source(args.checkpoint or args.weights)
    output = args.output or REPO_ROOT / "model_store" / archive_name(args.name, args.version)
    options = ServingOptions(args.batch_size, args.max_batch_delay, args.workers, args.response_timeout)
    build_archive(config, state, args.version, output, args.name, args.half, options, args.onnx, args.precision)


if __name__ == "__main__":
    main()
