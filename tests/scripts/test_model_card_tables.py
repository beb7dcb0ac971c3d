"""The model card's tables: per epoch from a run's history.csv, recall and precision from a confusion matrix."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "model_card_tables.py"


def load_script():
    spec = importlib.util.spec_from_file_location("model_card_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_history_table_has_a_row_per_epoch_and_bolds_the_best(tmp_path):
    path = tmp_path / "history.csv"
    fields = ["epoch", "train_loss", "val_loss", "val_miou", "val_miou_8", "lr", "val_iou_flat", "val_iou_human"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerow(dict(zip(fields, [1, 1.2, 1.30, 0.50, 0.45, 9e-4, 0.90, 0.10], strict=True)))
        writer.writerow(dict(zip(fields, [2, 1.0, 1.10, 0.62, 0.58, 5e-4, 0.93, 0.31], strict=True)))
        writer.writerow(dict(zip(fields, [3, 0.9, 1.05, 0.61, 0.57, 1e-4, 0.94, 0.29], strict=True)))
    lines = load_script().history_table(path).splitlines()
    assert lines[0] == "| epoch | mIoU7 | mIoU8 | val loss | flat | human | lr at end |"
    assert len(lines) == 2 + 3
    assert lines[3] == "| 2 | **0.620** | 0.580 | 1.100 | 0.930 | 0.310 | 5.0e-04 |"
    assert "**" not in lines[2] + lines[4]


def test_confusion_table_leaves_void_ground_truth_out(tmp_path):
    path = tmp_path / "val_metrics.json"
    # rows: ground truth void, a, b; columns: predicted void, a, b
    matrix = [[50, 50, 0], [0, 6, 2], [0, 4, 8]]
    path.write_text(json.dumps({"categories": ["void", "a", "b"], "confusion_matrix": matrix}))
    lines = load_script().confusion_table(path).splitlines()
    assert lines[0] == "| category | share of labelled pixels | recall | precision |"
    # a: 8 of 20 labelled pixels, 6 of 8 found, 6 of the 10 labelled pixels called a (void's 50 do not count)
    assert lines[2:] == ["| a | 40.0 % | 0.750 | 0.600 |", "| b | 60.0 % | 0.667 | 0.800 |"]
