"""Print MODEL_CARD.md's result tables from the evaluation JSONs (`training.evaluate --json`).

.venv/bin/python scripts/model_card_tables.py docs/model/v2.0/val_metrics.json docs/model/v1.0/val_metrics.json
"""

from __future__ import annotations

import argparse
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+", type=Path, help="evaluation JSONs, one column each")
    main(parser.parse_args().json)
