"""How far a faster way of running the model strays from eager fp32 PyTorch on a labelled split: each
variant's mIoU beside the reference's, the change, and the share of pixels whose category agrees.

    python -m training.agreement --weights models/vgg16_unet_v3.0.safetensors --dataset cityscapes \
        --data-root ../shared/data/cityscapes --precision bf16 --onnx models/vgg16_unet_v3.0.int8.onnx \
        --json docs/model/v3.0/runtime_agreement.json

Variants: PyTorch under a precision (bf16 autocast + channels-last) and ONNX graphs run by ONNX Runtime.
Every variant sees the same prepared images (`EvalPreset`, the handler's preprocessing); logits are
resized to each mask's native size, as evaluation and the handler do.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from roadseg.categories import CATEGORY_NAMES, VOID_ID
from segmenter.logits import logits_at_size
from segmenter.onnx_model import OnnxModel
from segmenter.precision import autocast, memory_format, prepare_model
from segmenter.weights import load_model
from training.datasets import DATASETS, build_dataset
from training.metrics import ConfusionMatrix
from training.presets import EvalPreset


@dataclass
class Variant:
    """One way of running the model: a callable (PyTorch or `OnnxModel`) and a precision for PyTorch."""

    name: str
    model: nn.Module
    precision: str = "fp32"

    @torch.inference_mode()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        images = images.contiguous(memory_format=memory_format(self.precision))
        with autocast(torch.device("cpu"), self.precision):
            return self.model(images).float()


def agreement_on_split(reference: Variant, variants: list[Variant], loader: DataLoader) -> dict[str, Any]:
    """{'reference': its figures, variant name: figures + miou_change + pixel_agreement} over the loader."""
    confusions = {v.name: ConfusionMatrix() for v in [reference, *variants]}
    agree = dict.fromkeys(confusions, 0)
    pixels = 0
    for images, masks in tqdm(loader, desc="agreement", leave=False, dynamic_ncols=True):
        size = tuple(masks.shape[-2:])
        expected = logits_at_size(reference.logits(images), size).argmax(1)
        confusions[reference.name].update(masks, expected)
        pixels += expected.numel()
        for variant in variants:
            predicted = logits_at_size(variant.logits(images), size).argmax(1)
            confusions[variant.name].update(masks, predicted)
            agree[variant.name] += int((predicted == expected).sum())
    base = _figures(confusions[reference.name])
    result: dict[str, Any] = {"reference": {"name": reference.name, **base}}
    for variant in variants:
        figures = _figures(confusions[variant.name])
        result[variant.name] = {
            **figures,
            "miou_change": figures["miou"] - base["miou"],
            "pixel_agreement": agree[variant.name] / max(1, pixels),
        }
    return result


def _figures(confusion: ConfusionMatrix) -> dict[str, Any]:
    computed = confusion.compute()
    return {
        "miou": computed["miou"],
        "pixel_accuracy": computed["pixel_accuracy"],
        "iou": {name: computed["per_category"][name]["iou"] for i, name in enumerate(CATEGORY_NAMES) if i != VOID_ID},
    }


def split_loader(dataset: str, root: Path, split: str, short_side: int, limit: int | None = None) -> DataLoader:
    """One image per batch (native mask sizes differ), prepared as the handler prepares it."""
    full = build_dataset(dataset, root, split, EvalPreset(short_side))
    data: Dataset[tuple[torch.Tensor, torch.Tensor]] = Subset(full, range(min(limit, len(full)))) if limit else full
    return DataLoader(data, batch_size=1, num_workers=1)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=Path, help="checkpoint or exported weights (the fp32 reference)")
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset layout")
    p.add_argument("--data-root", required=True, type=Path, help="dataset root folder")
    p.add_argument("--split", default="val", help="labelled split to compare on")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--precision", action="append", default=[], choices=["bf16"], help="a PyTorch precision variant")
    p.add_argument("--onnx", action="append", default=[], type=Path, help="an ONNX graph of the same model")
    p.add_argument("--json", required=True, type=Path, help="where to write the figures")
    return p


def main(args: argparse.Namespace) -> dict[str, Any]:
    model, config = load_model(args.weights)
    variants = [Variant(f"torch {p}", prepare_model(load_model(args.weights)[0], p), p) for p in args.precision]
    variants += [Variant(f"onnxruntime {path.name}", OnnxModel(path)) for path in args.onnx]
    loader = split_loader(args.dataset, args.data_root, args.split, config.short_side, args.limit)
    result = {
        "weights": str(args.weights),
        "dataset": args.dataset,
        "split": args.split,
        "images": len(loader),
        **agreement_on_split(Variant("torch fp32", model), variants, loader),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"reference torch fp32: mIoU {result['reference']['miou']:.4f}")
    for variant in variants:
        r = result[variant.name]
        print(
            f"{variant.name}: mIoU {r['miou']:.4f} ({r['miou_change']:+.4f}), pixels agree {r['pixel_agreement']:.2%}"
        )
    print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
