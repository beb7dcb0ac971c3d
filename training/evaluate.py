"""Evaluate a checkpoint on a split: metrics printed and written as JSON, plus a confusion-matrix PNG.

    python -m training.evaluate --checkpoint runs/vgg16_unet/best.pt --dataset camvid \
        --data-root ../shared/data/camvid --split val --json runs/vgg16_unet/val_metrics.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from roadseg.categories import CATEGORY_NAMES
from segmenter.precision import PRECISION_HELP, PRECISIONS, prepare_model, resolve_precision
from segmenter.weights import load_model
from training.datasets import DATASETS, build_dataset
from training.datasets.base import size_of
from training.engine import choose_device, evaluate
from training.losses import LOSSES, build_loss
from training.metrics import ConfusionMatrix
from training.presets import EvalPreset


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--checkpoint",
        required=True,
        type=Path,
        help="a checkpoint written by training.train, or shipped weights (models/X.safetensors beside X.json)",
    )
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset layout")
    p.add_argument("--data-root", required=True, type=Path, help="dataset root folder")
    p.add_argument("--split", default="val", help="split to evaluate (train, val, test)")
    p.add_argument("--json", required=True, type=Path, help="where to write the metrics JSON")
    p.add_argument("--confusion-png", type=Path, help="confusion matrix image (default: next to --json)")
    p.add_argument("--loss", default="ce_dice", choices=sorted(LOSSES), help="loss reported as val_loss")
    p.add_argument("--short-side", type=int, help="inference scale (default: the checkpoint's)")
    p.add_argument("--limit", type=int, help="evaluate only the first N images")
    p.add_argument("--batch-size", type=int, default=4, help="images per batch")
    p.add_argument("--workers", type=int, default=2, help="data-loading worker processes")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda...")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help=PRECISION_HELP)
    return p


def plot_confusion(confusion: ConfusionMatrix, path: Path, title: str) -> None:
    """Row-normalised confusion matrix (each ground-truth category sums to 1)."""
    mat = confusion.mat.double()
    normalised = (mat / mat.sum(1, keepdim=True).clamp(min=1)).numpy()
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(CATEGORY_NAMES)), CATEGORY_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(len(CATEGORY_NAMES)), CATEGORY_NAMES)
    ax.set(xlabel="predicted", ylabel="ground truth", title=title)
    for (i, j), value in np.ndenumerate(normalised):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace) -> dict:
    device = choose_device(args.device)
    model, config = load_model(args.checkpoint)
    precision = resolve_precision(args.precision, device)
    prepare_model(model.to(device), precision)
    short_side = args.short_side or config.short_side
    full = build_dataset(args.dataset, args.data_root, args.split, EvalPreset(short_side))
    dataset: Dataset[tuple[torch.Tensor, torch.Tensor]] = full
    if args.limit:
        dataset = Subset(full, range(min(args.limit, len(full))))
    loader = DataLoader(dataset, args.batch_size, num_workers=args.workers)
    loss, confusion = evaluate(model, loader, build_loss(args.loss), device, precision, f"{args.split}")
    print(confusion)
    result = {
        "checkpoint": str(args.checkpoint),
        "model": config.model,
        "model_kwargs": config.model_kwargs,
        "dataset": args.dataset,
        "split": args.split,
        "images": size_of(dataset),
        "short_side": short_side,
        "loss_name": args.loss,
        "val_loss": loss,
        "precision": precision,
        **confusion.compute(),
        "confusion_matrix": confusion.mat.tolist(),
        "categories": list(CATEGORY_NAMES),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    png = args.confusion_png or args.json.with_name(args.json.stem + "_confusion.png")
    plot_confusion(confusion, png, f"{config.model} on {args.dataset} {args.split}")
    print(f"wrote {args.json} and {png}")
    return result


if __name__ == "__main__":
    with torch.inference_mode():
        main(get_args_parser().parse_args())
