"""Compare models: train them under one budget (or read finished runs) and write the table.

    python -m training.compare --train --models unet_mini vgg16_unet dilatednet --dataset camvid \
        --data-root ../shared/data/camvid --epochs 20 --runs-dir runs/compare --output docs/comparison
    python -m training.compare --runs runs/compare/unet_mini runs/compare/vgg16_unet --output docs/comparison

Writes OUTPUT.md, OUTPUT.csv and OUTPUT.png: model, loss, validation loss, mIoU, Dice, training time,
parameters, MACs and CPU latency per image at the stated resolution.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch.utils.flop_counter import FlopCounterMode

from segmenter.models import MODEL_REGISTRY, build_model, display_name
from segmenter.precision import PRECISIONS, memory_format, resolve_precision
from segmenter.weights import load_model
from training import step_timing, train
from training.class_weights import CLASS_WEIGHTINGS
from training.datasets import DATASETS, build_dataset
from training.losses import LOSS_DISPLAY_NAMES, LOSSES, build_loss
from training.presets import DATASET_SCALES

SEED_TABLE = """| Model | Loss | Val loss | IoU | Dice | Train time (min) |
| --- | --- | --- | --- | --- | --- |
| U-Net Mini | categorical CE | 0.462 | 0.588 | 0.697 | 79.1 |
| VGG16 U-Net | combined | 0.412 | 0.607 | 0.713 | 153.6 |
| DilatedNet | categorical CE | 0.799 | 0.391 | 0.503 | 138.1 |"""

SEED_MODELS = {"unet_mini", "vgg16_unet", "dilatednet"}  # the study's three architectures
EXTRA_TITLES = {"class_weighting": "Class weights", "start": "Start", "crop": "Crop", "data": "Data"}
# Budget keys a pilot grid may vary on purpose: shown as columns, so not a difference of budget when they vary.
VARIED_KEYS = ("crop", "short_side", "init_weights", "imagenet_encoder", "mix")
COLUMNS = [
    "model",
    "loss",
    "val_loss",
    "miou",
    "mdice",
    "miou_8",
    "mdice_8",
    "train_minutes",
    "epochs",
    "params_m",
    "gmacs",
    "cpu_ms",
]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, nargs="*", default=[], help="finished run directories to read")
    p.add_argument("--train", action="store_true", help="train --models first, into --runs-dir/<model>")
    p.add_argument("--models", nargs="+", default=sorted(MODEL_REGISTRY), choices=sorted(MODEL_REGISTRY))
    p.add_argument("--runs-dir", type=Path, default=Path("runs/compare"), help="where --train writes runs")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="dataset (with --train)")
    p.add_argument("--data-root", type=Path, help="dataset root (with --train)")
    p.add_argument("--epochs", type=int, default=20, help="epoch budget per model (with --train)")
    p.add_argument(
        "--budget-minutes",
        type=float,
        help="instead of --epochs: the same wall-clock training time for every model (with --train); each model's "
        "epochs (or share of one epoch) come from its step time measured here first",
    )
    p.add_argument("--short-side", type=int, help="training and inference scale (with --train; default: per dataset)")
    p.add_argument("--compile", action="store_true", help="train through torch.compile (with --train)")
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier for every model (with --train)")
    p.add_argument("--loss", default="ce_dice", choices=sorted(LOSSES), help="loss for every model (with --train)")
    p.add_argument(
        "--class-weights",
        default="none",
        choices=CLASS_WEIGHTINGS,
        help="CE class weighting for every model (with --train)",
    )
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="training precision (with --train)")
    p.add_argument("--batch-size", type=int, default=8, help="training batch size (with --train)")
    p.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="training crop (with --train)")
    p.add_argument("--limit-train", type=int, help="N training images, spread over the split (with --train)")
    p.add_argument("--limit-val", type=int, help="first N validation images only (with --train)")
    p.add_argument(
        "--warmup-epochs",
        type=float,
        help="linear warm-up length in epochs (with --train; training.train's default: 1). Keep it under one "
        "epoch when a budget buys only one or two: the poly decay after it is what settles the weights",
    )
    p.add_argument(
        "--latency-size",
        type=int,
        nargs=2,
        default=(360, 480),
        metavar=("H", "W"),
        help="input resolution for MACs and CPU latency",
    )
    p.add_argument("--latency-runs", type=int, default=10, help="timed forward passes per model (0: no latency)")
    p.add_argument(
        "--per-category",
        action="store_true",
        help="add each category's IoU and the class weighting (e.g. for pilots of one model)",
    )
    p.add_argument("--output", type=Path, default=Path("docs/comparison"), help="output path without suffix")
    return p


def train_runs(args: argparse.Namespace) -> list[Path]:
    if not (args.dataset and args.data_root):
        raise SystemExit("--train needs --dataset and --data-root")
    unfinished = [name for name in args.models if not (args.runs_dir / name / "summary.json").exists()]
    # Every budget is sized before any model trains: a step timed right after another model's run measured 20 %
    # fast (VGG16 U-Net: 2.41 s there, 2.99 s in a fresh process, 2.9-3.3 s in its run).
    budgets = {name: sized_budget(args, name, args.runs_dir / name) for name in unfinished if args.budget_minutes}
    runs = []
    for name in args.models:
        run_dir = args.runs_dir / name
        if name not in unfinished:
            print(f"{run_dir} is finished: kept")  # a comparison interrupted between models goes on
            runs.append(run_dir)
            continue
        epochs, limit_train = budgets.get(name, (args.epochs, args.limit_train))
        argv = [
            "--model",
            name,
            "--width",
            str(args.width),
            "--dataset",
            args.dataset,
            "--data-root",
            str(args.data_root),
            "--epochs",
            str(epochs),
            "--loss",
            args.loss,
            "--batch-size",
            str(args.batch_size),
            "--output",
            str(run_dir),
            "--class-weights",
            args.class_weights,
            "--precision",
            args.precision,
            "--cache-images",
        ]
        argv += ["--crop", *map(str, args.crop)] if args.crop else []
        argv += ["--limit-train", str(limit_train)] if limit_train else []
        argv += ["--budget-minutes", str(args.budget_minutes)] if args.budget_minutes else []
        argv += ["--short-side", str(args.short_side)] if args.short_side else []
        argv += ["--compile"] if args.compile else []
        if (run_dir / "last.pt").exists():
            argv += ["--resume", str(run_dir / "last.pt")]
        argv += ["--limit-val", str(args.limit_val)] if args.limit_val else []
        argv += ["--warmup-epochs", str(args.warmup_epochs)] if args.warmup_epochs is not None else []
        train.main(train.get_args_parser().parse_args(argv))
        runs.append(run_dir)
    return runs


def sized_budget(args: argparse.Namespace, name: str, run_dir: Path) -> tuple[int, int | None]:
    """`epochs_within_budget`, measured once per run and kept in RUN_DIR/budget.json: a run resumed in a later
    session keeps the schedule it started with, whatever its step time measures then."""
    path = run_dir / "budget.json"
    if path.exists():
        sized = json.loads(path.read_text())
        return sized["epochs"], sized["limit_train"]
    epochs, limit = epochs_within_budget(args, name)
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"epochs": epochs, "limit_train": limit, "minutes": args.budget_minutes}) + "\n")
    return epochs, limit


def epochs_within_budget(args: argparse.Namespace, name: str) -> tuple[int, int | None]:
    """(epochs, training images or None for all) nearest to --budget-minutes for model `name`, from the median
    of a few timed training steps here (the loss, batch, crop and precision of the run; data loading aside)."""
    crop: tuple[int, int] = (args.crop[0], args.crop[1]) if args.crop else DATASET_SCALES[args.dataset].crop
    images = args.limit_train or len(build_dataset(args.dataset, args.data_root, "train"))
    steps_per_epoch = max(1, images // args.batch_size)
    step_s = training_step_seconds(name, args.width, args.batch_size, crop, args.loss, args.precision, args.compile)
    epoch_s = step_s * steps_per_epoch
    budget_s = args.budget_minutes * 60
    # The nearest whole number of epochs (within half an epoch of the budget; rounding down gave a model whose
    # budget held 2.998 epochs two of them, 60 % of the others' time), or one part of an epoch.
    epochs = round(budget_s / epoch_s) if budget_s >= epoch_s else 0
    limit = None if epochs >= 1 else max(args.batch_size, int(images * budget_s / epoch_s))
    print(
        f"{name}: {step_s:.2f} s per step of {args.batch_size} x {crop[0]}x{crop[1]}, {epoch_s / 60:.1f} min per "
        f"epoch: {f'{epochs} epoch' + 's' * (epochs > 1) if epochs else f'1 epoch of {limit} images'} in "
        f"{args.budget_minutes:g} min"
    )
    return max(1, epochs), limit


def training_step_seconds(
    name: str,
    width: float,
    batch: int,
    crop: tuple[int, int],
    loss: str,
    precision: str,
    compiled: bool,
    steps: int = 10,
) -> float:
    """Median seconds of one training step of model `name` with the run's loss and precision (`step_timing`), in a
    fresh process, as a run starts. Ten timed steps: the median of three moved by 25 % between sessions (VGG16
    U-Net: 2.58-3.25 s, 2.9 s in training), enough to change its number of epochs."""
    spawn = get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as fresh:
        return fresh.submit(_step_seconds_here, name, width, batch, crop, loss, precision, compiled, steps).result()


def _step_seconds_here(
    name: str, width: float, batch: int, crop: tuple[int, int], loss: str, precision: str, compiled: bool, steps: int
) -> float:
    resolved = resolve_precision(precision, torch.device("cpu"))
    model = build_model(name, width=width)
    return step_timing.training_step_seconds(
        model, build_loss(loss), batch, crop, resolved, memory_format(resolved), compiled, steps
    )


def measure_cost(model: torch.nn.Module, size: tuple[int, int], runs: int) -> dict:
    """Parameters (M), GMACs (FLOPs / 2) and median CPU latency (ms) for one image of `size`."""
    model = model.cpu().eval()
    x = torch.randn(1, 3, *size)
    with torch.inference_mode():
        counter = FlopCounterMode(display=False)
        with counter:
            model(x)
        model(x)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - started)
    return {
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "gmacs": round(counter.get_total_flops() / 2e9, 2),
        "cpu_ms": round(statistics.median(times) * 1000, 1) if times else "n/a",
    }


def row_for_run(run_dir: Path, size: tuple[int, int], latency_runs: int, per_category: bool = False) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    model, _ = load_model(run_dir / "best.pt")
    extra = {}
    if per_category:
        budget = summary.get("budget", {})
        if "init_weights" in budget:  # the recipe's other knobs, for pilots that vary them
            imagenet = "ImageNet encoder" if budget.get("imagenet_encoder") else None
            extra["start"] = budget["init_weights"] or imagenet or "scratch"
            extra["crop"] = "x".join(map(str, budget["crop"]))
            if "mix" in budget:
                extra["data"] = summary["dataset"] + (f" + {budget['mix']}" if budget["mix"] else "")
        extra["class_weighting"] = summary.get("class_weighting", "none")
        extra.update({name: _round(iou) for name, iou in summary["per_category_iou"].items() if name != "void"})
    return {
        **extra,
        "model": display_name(summary["model"], summary.get("width", 1.0)),
        "loss": LOSS_DISPLAY_NAMES.get(summary["loss"], summary["loss"]),
        "val_loss": round(summary["val_loss"], 3),
        "miou": round(summary["miou"], 3),
        "mdice": round(summary["mdice"], 3),
        "miou_8": round(summary["miou_8"], 3),
        "mdice_8": round(summary["mdice_8"], 3),
        "train_minutes": summary["train_minutes"],
        "epochs": f"{summary['best_epoch']}/{summary['epochs_run']}",
        **measure_cost(model, size, latency_runs),
    }


def _round(value: float | None) -> float | str:
    return "n/a" if value is None else round(value, 3)


def budget_line(runs: list[Path]) -> str:
    """The training budget the runs share, from their summaries (older runs do not record it)."""
    budgets = [json.loads((run / "summary.json").read_text()).get("budget") for run in runs]
    if not budgets or None in budgets:
        return ""
    recorded_by_all = set.intersection(*(set(b) for b in budgets))  # older runs record fewer keys
    varied = {k for k in VARIED_KEYS if len({json.dumps(b.get(k)) for b in budgets}) > 1}  # shown as columns
    if varied & {"init_weights", "imagenet_encoder"}:
        varied |= {"init_weights", "imagenet_encoder"}  # the start, then, is a column
    budgets = [{k: v for k, v in b.items() if k in recorded_by_all and k not in varied} for b in budgets]
    if "minutes" in recorded_by_all:  # a wall-clock budget: the epochs differ by design
        budgets = [{k: v for k, v in b.items() if k != "epochs"} for b in budgets]
    if any(b != budgets[0] for b in budgets):
        return "Budget: the runs were NOT trained under one budget: " + "; ".join(map(str, budgets)) + "\n\n"
    minutes = {b.get("minutes") for b in budgets}
    if len(minutes) == 1 and None not in minutes:
        b = budgets[0]
        return (
            f"Budget (every model): {b['minutes']:g} minutes of training on this CPU, each model given the whole "
            f"number of epochs nearest to that at its own measured step time (the Best/run column), batch "
            f"{b['batch_size']}{crops(b)}, {b.get('precision', 'fp32')}.\n\n"
        )
    b = budgets[0]
    return (
        f"Budget (every model): at most {b['epochs']} epochs (early stopping patience {b['patience']}), batch "
        f"{b['batch_size']}{crops(b)}" + (f", {b['precision']}" if "precision" in b else "") + start_phrase(b) + ".\n\n"
    )


def start_phrase(budget: dict) -> str:
    """How the shared budget's runs started, when they share it (pilots that vary it show it as a column)."""
    if "init_weights" not in budget:
        return ""
    if budget["init_weights"]:
        return f", starting from {budget['init_weights']}"
    return ", encoder from ImageNet" if budget.get("imagenet_encoder") else ", from scratch"


def crops(budget: dict) -> str:
    """ ", crops HxW at short side S" when the runs share them (pilots that vary them show them as columns)."""
    if "crop" not in budget:
        return ""
    return f", crops {budget['crop'][0]}x{budget['crop'][1]} at short side {budget['short_side']}"


def write_table(
    rows: list[dict], output: Path, size: tuple[int, int], budget: str = "", with_seed: bool = False
) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    extra = [c for c in rows[0] if c not in COLUMNS]  # --per-category: weighting and per-category IoU
    columns = COLUMNS[:2] + extra + COLUMNS[2:]
    with open(output.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    titles = [
        "Model",
        "Loss",
        *(EXTRA_TITLES.get(c, f"{c} IoU") for c in extra),
        "Val loss",
        "IoU",
        "Dice",
        "IoU (8)",
        "Dice (8)",
        "Train time (min)",
        "Best/run epochs",
        "Params (M)",
        f"GMACs @{size[0]}x{size[1]}",
        f"CPU ms/image @{size[0]}x{size[1]}",
    ]
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    text = (
        budget + "IoU and Dice: means over the 7 non-void categories, void ground truth ignored (Cityscapes' "
        "category IoU). IoU (8) and Dice (8): over all 8, as the seed reported.\n\n"
        + "\n".join(lines)
        + f"\n\nCPU latency: median of forward passes, batch 1, {torch.get_num_threads()} threads.\n"
        + ("\nSeed's table (Cityscapes val, for reference):\n\n" + SEED_TABLE + "\n" if with_seed else "")
    )
    output.with_suffix(".md").write_text(text)
    plot_comparison(rows, output.with_suffix(".png"))


def plot_comparison(rows: list[dict], path: Path) -> None:
    """mIoU, training time and latency per model, as horizontal bars (long model names stay readable)."""
    names = [r["model"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 1.2 + 0.45 * len(rows)), sharey=True)
    for ax, key, title in zip(
        axes,
        ["miou", "train_minutes", "cpu_ms"],
        ["mIoU (7, void ignored)", "training time (min)", "CPU latency (ms/image)"],
        strict=True,
    ):
        values = [r[key] if isinstance(r[key], int | float) else 0.0 for r in rows]
        ax.barh(names, values, color="#4c72b0")
        ax.bar_label(ax.containers[0], fmt="%.3g", padding=2, fontsize=8)
        ax.set_title(title)
        ax.margins(x=0.2)
    axes[0].invert_yaxis()  # the table's order, top to bottom (the axes share it)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace) -> list[dict]:
    runs = list(args.runs) + (train_runs(args) if args.train else [])
    if not runs:
        raise SystemExit("nothing to compare: give --runs, or --train with --models")
    size = tuple(args.latency_size)
    rows = [row_for_run(run, size, args.latency_runs, args.per_category) for run in runs]
    # The seed's table beside the study's architectures; not beside pilots of one model, nor other models.
    architectures = {json.loads((run / "summary.json").read_text())["model"] for run in runs}
    write_table(rows, args.output, size, budget_line(runs), len(architectures) > 1 and architectures <= SEED_MODELS)
    print(args.output.with_suffix(".md").read_text())
    return rows


if __name__ == "__main__":
    main(get_args_parser().parse_args())
