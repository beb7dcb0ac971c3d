"""Compare models: train a grid recipe's runs (or read finished runs) and write the table.

    python -m training.compare recipes/comparisons/cityscapes.toml --data-dir ../shared/data --runs-dir ~/roadseg-runs
    python -m training.compare --runs runs/a runs/b --per-category --output docs/comparison

A grid recipe (training.recipes) holds a [train] table, its [variants.NAME] (each run: [train] with those
changes, trained into RUNS_DIR/<recipe>/<NAME>; a finished one is kept, an interrupted one resumes) and its
[table] (output, per_category, latency_size, latency_runs; budget_minutes: every run sized to that much training
from its step time measured here first; also_evaluate: datasets each run is also evaluated on, as columns).

Writes OUTPUT.md, OUTPUT.csv and OUTPUT.png: model, loss, validation loss, mIoU, Dice, training time,
parameters, MACs and CPU latency per image at the stated resolution.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch.utils.flop_counter import FlopCounterMode

from segmenter.models import build_model, display_name
from segmenter.precision import memory_format, resolve_precision
from segmenter.weights import load_model
from training import step_timing, train
from training.config import TrainConfig
from training.datasets import build_dataset
from training.losses import LOSS_DISPLAY_NAMES, build_loss
from training.presets import DATASET_SCALES
from training.recipes import Recipe, load_recipe

ORIGINAL_TABLE = """| Model | Loss | Val loss | IoU | Dice | Train time (min) |
| --- | --- | --- | --- | --- | --- |
| U-Net Mini | categorical CE | 0.462 | 0.588 | 0.697 | 79.1 |
| VGG16 U-Net | combined | 0.412 | 0.607 | 0.713 | 153.6 |
| DilatedNet | categorical CE | 0.799 | 0.391 | 0.503 | 138.1 |"""

ORIGINAL_HEADING = "The original notebook's table (Cityscapes val, for reference):"
ORIGINAL_MODELS = {"unet_mini", "vgg16_unet", "dilatednet"}  # the original notebook's three architectures
EXTRA_TITLES = {
    "run": "Run",
    "class_weighting": "Class weights",
    "start": "Start",
    "crop": "Crop",
    "data": "Data",
    "teacher": "Teacher",
    "camvid_miou": "CamVid val IoU",
    "cityscapes_miou": "Cityscapes val IoU",
}
# Budget keys a pilot grid may vary on purpose: shown as columns, so not a difference of budget when they vary.
VARIED_KEYS = ("crop", "short_side", "init_weights", "imagenet_encoder", "mix", "teacher", "train_share")
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
    p.add_argument("recipe", type=Path, nargs="?", help="a grid recipe (recipes/pilots/*.toml, recipes/comparisons/)")
    p.add_argument("--data-dir", type=Path, help="with a recipe: the folder holding each dataset's folder")
    p.add_argument("--runs-dir", type=Path, help="with a recipe: where run directories live (outside the tree)")
    p.add_argument("--runs", type=Path, nargs="*", default=[], help="without a recipe: finished run directories")
    p.add_argument("--latency-size", type=int, nargs=2, metavar=("H", "W"), help="input size for MACs and latency")
    p.add_argument("--latency-runs", type=int, help="timed forward passes per model (0: no latency; default 10)")
    p.add_argument("--per-category", action="store_true", help="add each category's IoU and the recipe's knobs")
    p.add_argument("--output", type=Path, help="output path without suffix (default: the recipe's)")
    return p


@dataclass(frozen=True)
class Table:
    """What the comparison's table shows and where it goes (a recipe's [table]; options override it)."""

    output: Path = Path("docs/comparison")
    per_category: bool = False
    latency_size: tuple[int, int] = (360, 480)
    latency_runs: int = 10
    budget_minutes: float | None = None
    also_evaluate: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: dict[str, Any], **given: Any) -> Table:
        """A recipe's [table], with the `given` values (those not None) over it."""
        values = {**table, **{key: value for key, value in given.items() if value is not None}}
        unknown = sorted(set(values) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise SystemExit(f"unknown table settings: {', '.join(unknown)}")
        values["output"] = Path(values.get("output", cls.output))
        for key in ("latency_size", "also_evaluate"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


def grid_configs(recipe: Recipe, data_dir: Path, runs_dir: Path) -> dict[str, TrainConfig]:
    """Each variant's TrainConfig: the recipe's [train] with the variant's changes, into RUNS_DIR/<recipe>/<name>."""
    if not recipe.variants:
        raise SystemExit(f"{recipe.path}: no [variants.NAME] tables to train")
    configs = {}
    for name, changes in recipe.variants.items():
        table = {**recipe.train, **changes}
        configs[name] = TrainConfig.from_table(table, data_dir, output=runs_dir / recipe.name / name)
    return configs


def train_runs(configs: dict[str, TrainConfig], table: Table, data_dir: Path) -> list[Path]:
    """Train every unfinished run (sized to the table's budget first, when it has one), evaluate each on the
    table's other datasets, and return the run directories in the recipe's order."""
    unfinished = {name: c for name, c in configs.items() if not (c.output / "summary.json").exists()}
    # Every budget is sized before any model trains: a step timed right after another model's run measured 20 %
    # fast (VGG16 U-Net: 2.41 s there, 2.99 s in a fresh process, 2.9-3.3 s in its run).
    if table.budget_minutes:
        unfinished = {name: sized_budget(c, table.budget_minutes) for name, c in unfinished.items()}
    for name, config in configs.items():
        if name not in unfinished:
            print(f"{config.output} is finished: kept")  # a comparison interrupted between runs goes on
            continue
        config = unfinished[name]
        last = config.output / "last.pt"
        train.main(dataclasses.replace(config, resume=last) if last.exists() else config)
    for config in configs.values():
        for other in table.also_evaluate:
            evaluate_elsewhere(config, other, data_dir / other)
    return [config.output for config in configs.values()]


def evaluate_elsewhere(config: TrainConfig, dataset: str, root: Path) -> None:
    """The run's best checkpoint on another dataset's val split, into RUN_DIR/<dataset>_val.json (kept if there)."""
    target = config.output / f"{dataset}_val.json"
    if target.exists():
        return
    command = [sys.executable, "-m", "training.evaluate", "--checkpoint", str(config.output / "best.pt")]
    command += ["--dataset", dataset, "--data-root", str(root), "--loss", config.loss, "--json", str(target)]
    subprocess.run(command, check=True)


def sized_budget(config: TrainConfig, minutes: float) -> TrainConfig:
    """`epochs_within_budget`, measured once per run and kept in RUN_DIR/budget.json: a run resumed in a later
    session keeps the schedule it started with, whatever its step time measures then."""
    path = config.output / "budget.json"
    if path.exists():
        sized = json.loads(path.read_text())
        epochs, limit = sized["epochs"], sized["limit_train"]
    else:
        epochs, limit = epochs_within_budget(config, minutes)
        config.output.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"epochs": epochs, "limit_train": limit, "minutes": minutes}) + "\n")
    return dataclasses.replace(config, epochs=epochs, limit_train=limit, budget_minutes=minutes)


def epochs_within_budget(config: TrainConfig, minutes: float) -> tuple[int, int | None]:
    """(epochs, training images or None for all) nearest to `minutes` of training for the run, from the median
    of a few timed training steps here (the loss, batch, crop and precision of the run; data loading aside)."""
    crop = config.crop or DATASET_SCALES[config.dataset].crop
    images = config.limit_train or len(build_dataset(config.dataset, config.data_root, "train"))
    steps_per_epoch = max(1, images // config.batch_size)
    step_s = training_step_seconds(
        config.model, config.width, config.batch_size, crop, config.loss, config.precision, config.compile
    )
    epoch_s = step_s * steps_per_epoch
    budget_s = minutes * 60
    # The nearest whole number of epochs (within half an epoch of the budget; rounding down gave a model whose
    # budget held 2.998 epochs two of them, 60 % of the others' time), or one part of an epoch.
    epochs = round(budget_s / epoch_s) if budget_s >= epoch_s else 0
    limit = None if epochs >= 1 else max(config.batch_size, int(images * budget_s / epoch_s))
    print(
        f"{config.model}: {step_s:.2f} s per step of {config.batch_size} x {crop[0]}x{crop[1]}, "
        f"{epoch_s / 60:.1f} min per epoch: "
        f"{f'{epochs} epoch' + 's' * (epochs > 1) if epochs else f'1 epoch of {limit} images'} in {minutes:g} min"
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


def row_for_run(
    run_dir: Path,
    size: tuple[int, int],
    latency_runs: int,
    per_category: bool = False,
    also_evaluate: tuple[str, ...] = (),
) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    model, _ = load_model(run_dir / "best.pt")
    extra: dict[str, float | str] = {}
    if per_category:
        extra["run"] = run_dir.name
        budget = summary.get("budget", {})
        if "init_weights" in budget:  # the recipe's other knobs, for pilots that vary them
            imagenet = "ImageNet encoder" if budget.get("imagenet_encoder") else None
            extra["start"] = budget["init_weights"] or imagenet or "scratch"
            extra["crop"] = "x".join(map(str, budget["crop"]))
            if "mix" in budget:
                extra["data"] = summary["dataset"] + (f" + {budget['mix']}" if budget["mix"] else "")
            if "teacher" in budget:
                extra["teacher"] = budget["teacher"] or "none"
        extra["class_weighting"] = summary.get("class_weighting", "none")
        extra.update({name: _round(iou) for name, iou in summary["per_category_iou"].items() if name != "void"})
    for dataset in also_evaluate:
        figures = json.loads((run_dir / f"{dataset}_val.json").read_text())
        extra[f"{dataset}_miou"] = _round(figures["miou"])
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
    if len(minutes) == 1 and None not in minutes and "train_share" in varied:
        b = budgets[0]
        return (
            f"Budget (every run): {b['minutes']:g} minutes of training on this CPU: one share of an epoch (of every "
            f"dataset in it), sized from each run's step time measured alone, batch {b['batch_size']}"
            f"{crops(b)}, {b.get('precision', 'fp32')}. Train time: what each run took here (runs beside other "
            "work take longer for the same steps).\n\n"
        )
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
    rows: list[dict], output: Path, size: tuple[int, int], budget: str = "", with_original: bool = False
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
        "category IoU). IoU (8) and Dice (8): over all 8, as the original notebook reported.\n\n"
        + "\n".join(lines)
        + f"\n\nCPU latency: median of forward passes, batch 1, {torch.get_num_threads()} threads.\n"
        + (f"\n{ORIGINAL_HEADING}\n\n{ORIGINAL_TABLE}\n" if with_original else "")
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


def main(argv: list[str] | None = None) -> list[dict]:
    args = get_args_parser().parse_args(argv)
    recipe = load_recipe(args.recipe) if args.recipe else None
    table = Table.from_table(
        recipe.table if recipe else {},
        output=args.output,
        latency_size=args.latency_size,
        latency_runs=args.latency_runs,
        per_category=args.per_category or None,
    )
    runs = list(args.runs)
    if recipe:
        if not (args.data_dir and args.runs_dir):
            raise SystemExit("a recipe needs --data-dir and --runs-dir")
        runs += train_runs(grid_configs(recipe, args.data_dir, args.runs_dir), table, args.data_dir)
    if not runs:
        raise SystemExit("nothing to compare: give a grid recipe, or --runs")
    rows = [
        row_for_run(run, table.latency_size, table.latency_runs, table.per_category, table.also_evaluate)
        for run in runs
    ]
    # The original notebook's table beside its three architectures; not beside pilots of one model, nor other models.
    architectures = {json.loads((run / "summary.json").read_text())["model"] for run in runs}
    with_original = len(architectures) > 1 and architectures <= ORIGINAL_MODELS
    write_table(rows, table.output, table.latency_size, budget_line(runs), with_original)
    print(table.output.with_suffix(".md").read_text())
    return rows


if __name__ == "__main__":
    main()
