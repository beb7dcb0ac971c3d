"""Segmentation metrics from one confusion matrix accumulated over a whole split."""

from __future__ import annotations

import math

import torch

from roadseg.categories import CATEGORY_NAMES, NUM_CATEGORIES, VOID_ID


class ConfusionMatrix:
    """`mat[t, p]` counts pixels of ground truth t predicted as p."""

    def __init__(self, num_classes: int = NUM_CATEGORIES):
        self.num_classes = num_classes
        self.mat = torch.zeros((num_classes, num_classes), dtype=torch.int64)

    def update(self, target: torch.Tensor, prediction: torch.Tensor) -> None:
        n = self.num_classes
        target, prediction = target.flatten().cpu().long(), prediction.flatten().cpu().long()
        valid = (target >= 0) & (target < n)
        self.mat += torch.bincount(n * target[valid] + prediction[valid], minlength=n * n).reshape(n, n)

    def compute(self) -> dict:
        """Per-category IoU/Dice, mIoU and mean Dice (7 categories, void ground truth ignored, as Cityscapes'
        "IoU category"; and over all 8, as the original notebook reported), pixel accuracy (void ground truth
        ignored)."""
        mat = self.mat.double()
        tp = mat.diag()
        # All 8 categories, void a class like the others.
        iou_8 = tp / (mat.sum(0) + mat.sum(1) - tp)
        dice_8 = 2 * tp / (mat.sum(0) + mat.sum(1))
        # Void ground-truth pixels ignored: drop the void row; predicting void elsewhere is still a miss.
        kept = mat.clone()
        kept[VOID_ID] = 0
        tp_kept = kept.diag()
        fp = kept.sum(0) - tp_kept
        fn = kept.sum(1) - tp_kept
        iou = tp_kept / (tp_kept + fp + fn)
        dice = 2 * tp_kept / (2 * tp_kept + fp + fn)
        evaluated = [i for i in range(self.num_classes) if i != VOID_ID]
        return {
            "miou": _nanmean(iou[evaluated]),
            "mdice": _nanmean(dice[evaluated]),
            "miou_8": _nanmean(iou_8),
            "mdice_8": _nanmean(dice_8),
            "pixel_accuracy": _ratio(tp_kept.sum(), kept.sum()),
            "per_category": {
                CATEGORY_NAMES[i]: {
                    "iou": None if i == VOID_ID else _number(iou[i]),
                    "dice": None if i == VOID_ID else _number(dice[i]),
                    "iou_8": _number(iou_8[i]),
                    "dice_8": _number(dice_8[i]),
                }
                for i in range(self.num_classes)
            },
        }

    def __str__(self) -> str:
        m = self.compute()
        rows = [f"{'category':<13}{'IoU':>8}{'Dice':>8}"]
        for name, v in m["per_category"].items():
            rows.append(f"{name:<13}{_fmt(v['iou']):>8}{_fmt(v['dice']):>8}")
        rows.append(f"mIoU (7, void ignored) {_fmt(m['miou'])}  mDice {_fmt(m['mdice'])}")
        rows.append(
            f"mIoU (8) {_fmt(m['miou_8'])}  mDice (8) {_fmt(m['mdice_8'])}  pixel acc {_fmt(m['pixel_accuracy'])}"
        )
        return "\n".join(rows)


def _number(x: torch.Tensor) -> float | None:
    value = float(x)
    return None if math.isnan(value) else value


def _nanmean(x: torch.Tensor) -> float | None:
    return _number(x.nanmean()) if not torch.isnan(x).all() else None


def _ratio(a: torch.Tensor, b: torch.Tensor) -> float | None:
    return float(a / b) if float(b) > 0 else None


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
