"""Print MODEL_CARD.md's tables: results from evaluation JSONs (`training.evaluate --json`), or a run's
per-epoch table from its history.csv (`--history`; the best epoch's mIoU in bold).

.venv/bin/python scripts/model_card_tables.py docs/model/v2.0/val_metrics.json docs/model/v1.0/val_metrics.json
.venv/bin/python scripts/model_card_tables.py --history docs/model/v3.0/history.csv
.venv/bin/python scripts/model_card_tables.py --confusion docs/model/v3.0/val_metrics.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

METRICS = [
    ("miou", "mIoU, 7 categories, void ground truth ignored (headline)"),
    ("mdice", "mean Dice, same"),
    ("miou_8", "mIoU, all 8"),
    ("mdice_8", "mean Dice, all 8"),
    ("pixel_accuracy", "pixel accuracy (void ground truth ignored)"),
]


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(paths: list[Path]) -> None:
    results = [json.loads(p.read_text()) for p in paths]
    for key, label in METRICS:
        print(f"| {label} | " + " | ".join(fmt(r[key]) for r in results) + " |")
    print()
    for name in results[0]["per_category"]:
        cells = [f"{fmt(r['per_category'][name]['iou'])} | {fmt(r['per_category'][name]['dice'])}" for r in results]
        print(f"| {name} | " + " | ".join(cells) + " |")


def confusion_table(path: Path) -> str:
    """Per non-void category, from an evaluation's confusion matrix (rows: ground truth) with void ground truth
    left out: its share of the labelled pixels, recall (its pixels found) and precision (its predictions right)."""
    result = json.loads(path.read_text())
    names, matrix = result["categories"], result["confusion_matrix"]
    labelled = matrix[1:]  # void (row 0) ground truth does not count
    total = sum(map(sum, labelled))
    lines = ["| category | share of labelled pixels | recall | precision |", "| --- | --- | --- | --- |"]
    for c in range(1, len(names)):
        actual, predicted, found = sum(matrix[c]), sum(row[c] for row in labelled), matrix[c][c]
        recall = found / actual if actual else None
        precision = found / predicted if predicted else None
        lines.append(f"| {names[c]} | {100 * actual / total:.1f} % | {fmt(recall)} | {fmt(precision)} |")
    return "\n".join(lines)


def history_table(path: Path) -> str:
    """One row per epoch: mIoU7 (best in bold), mIoU8, val loss, each category's IoU, the lr at the epoch's end."""
    rows = list(csv.DictReader(path.open()))
    categories = [key.removeprefix("val_iou_") for key in rows[0] if key.startswith("val_iou_")]
    best = max(rows, key=lambda row: float(row["val_miou"]))
    lines = [
        "| epoch | mIoU7 | mIoU8 | val loss | " + " | ".join(categories) + " | lr at end |",
        "|" + " --- |" * (len(categories) + 5),
    ]
    for row in rows:
        miou = fmt(float(row["val_miou"]))
        cells = [
            row["epoch"],
            f"**{miou}**" if row is best else miou,
            fmt(float(row["val_miou_8"])),
            fmt(float(row["val_loss"])),
            *(fmt(float(row[f"val_iou_{c}"])) for c in categories),
            f"{float(row['lr']):.1e}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="*", type=Path, help="evaluation JSONs, one column each")
    parser.add_argument("--history", type=Path, help="a run's history.csv: print its per-epoch table instead")
    parser.add_argument("--confusion", type=Path, help="an evaluation JSON: print recall and precision instead")
    args = parser.parse_args()
    if args.history:
        print(history_table(args.history))
    elif args.confusion:
        print(confusion_table(args.confusion))
    elif args.json:
        main(args.json)
    else:
        parser.error("give evaluation JSONs, --history or --confusion")
