"""Training history: one row per epoch, written as CSV and JSON, and drawn as curves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def write_history(history: list[dict], run_dir: Path) -> None:
    (run_dir / "history.json").write_text(json.dumps(history, indent=2))
    if history:
        with open(run_dir / "history.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
        plot_curves(history, run_dir / "curves.png")


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], label="train")
    ax_loss.plot(epochs, [r["val_loss"] for r in history], label="val")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_loss.legend()
    ax_iou.plot(epochs, [r["val_miou"] for r in history], label="mIoU (7, void ignored)")
    ax_iou.plot(epochs, [r["val_mdice"] for r in history], label="mean Dice (7)")
    for small in ("object", "human"):  # the rare categories, when the run recorded them
        if f"val_iou_{small}" in history[0]:
            ax_iou.plot(epochs, [r[f"val_iou_{small}"] for r in history], label=f"{small} IoU", linestyle="--")
    ax_iou.set(xlabel="epoch", ylabel="score", title="Validation", ylim=(0, 1))
    ax_iou.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
