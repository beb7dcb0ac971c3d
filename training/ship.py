"""Ship a recipe end to end: train (resumed if interrupted), export, evaluate, quantise, agreement, scale curve.

    python -m training.ship recipes/roadseg-rt-2.0.toml --data-dir ../shared/data --runs-dir ~/roadseg-runs
    python -m training.ship recipes/roadseg-rt-2.0.toml --dry-run     # print the plan only

Each step is one of the project's commands, run in turn (a failed step stops the plan; run it again to go on: a
finished training run is kept, an interrupted one resumes from its last.pt). The run directory is
RUNS_DIR/<stem>, the weights models/<stem>.{safetensors,json} (and .int8.onnx where served so), the figures
the recipe's docs folder; <stem> is "<model>_v<version>". Serving it is then one entry in models/catalogue.toml.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roadseg.catalogue import MODELS_DIR, SERVED_FORMS, SHIPPED_MODELS
from training.config import TrainConfig
from training.recipes import Recipe, load_recipe


@dataclass(frozen=True)
class Step:
    """A command of the plan, or (`action`) a file operation the plan describes in `command`'s words."""

    name: str
    command: list[str]
    action: Callable[[], None] | None = None

    def __str__(self) -> str:
        return f"{self.name:<10} {shlex.join(self.command)}"

    def run(self) -> None:
        if self.action is not None:
            self.action()
        else:
            subprocess.run(self.command, check=True)


def stem_of(recipe: Recipe) -> str:
    return f"{recipe.train['model']}_v{recipe.ship['version']}"


def plan(recipe: Recipe, data_dir: Path, runs_dir: Path, models_dir: Path = MODELS_DIR) -> list[Step]:
    """The steps that ship `recipe`: what `--dry-run` prints and a real run runs."""
    for key in ("name", "version", "docs"):
        if key not in recipe.ship:
            raise SystemExit(f"{recipe.path}: [ship] needs {key}")
    stem = stem_of(recipe)
    run_dir, weights, docs = runs_dir / stem, models_dir / f"{stem}.safetensors", Path(recipe.ship["docs"])
    try:
        config = TrainConfig.from_table(recipe.train, data_dir, output=run_dir)  # checks the [train] table now
    except ValueError as error:
        raise SystemExit(f"{recipe.path}: [train]: {error}") from None
    served = recipe.ship.get("served", "int8.onnx")
    if served not in SERVED_FORMS:
        raise SystemExit(f"{recipe.path}: served = {served!r}; choose one of {', '.join(SERVED_FORMS)}")
    data = ["--dataset", config.dataset, "--data-root", str(config.data_root)]
    train = ["--recipe", str(recipe.path), "--data-dir", str(data_dir), "--output", str(run_dir)]
    if (run_dir / "last.pt").exists():
        train += ["--resume", str(run_dir / "last.pt")]
    steps = [] if (run_dir / "summary.json").exists() else [module("train", "training.train", *train)]
    export = ["--checkpoint", str(run_dir / "best.pt"), "--output", str(weights.with_suffix(""))]
    steps.append(module("export", "training.export", *export))
    for name, target in (("history.csv", "history.csv"), ("curves.png", "training_curves.png")):
        source, copy = run_dir / name, docs / target
        steps.append(Step("copy", ["cp", str(source), str(copy)], _copier(source, copy)))
    evaluate = ["--checkpoint", str(weights), "--loss", config.loss]
    steps.append(module("evaluate", "training.evaluate", *evaluate, *data, "--json", str(docs / "val_metrics.json")))
    for other in recipe.ship.get("also_evaluate", []):
        elsewhere = ["--dataset", other, "--data-root", str(data_dir / other)]
        json_path = docs / f"{other}_val_metrics.json"
        steps.append(module("evaluate", "training.evaluate", *evaluate, *elsewhere, "--json", str(json_path)))
    if served == "int8.onnx":
        onnx = models_dir / f"{stem}.int8.onnx"
        steps.append(module("quantize", "training.quantize", "--weights", str(weights), *data, "--output", str(onnx)))
        agreement = ["--weights", str(weights), *data, "--precision", "bf16", "--onnx", str(onnx)]
        json_path = docs / "runtime_agreement.json"
        steps.append(module("agreement", "training.agreement", *agreement, "--json", str(json_path)))
        if scales := recipe.ship.get("scale_curve"):
            curve = ["--weights", str(weights), "--onnx", str(onnx), "--short-sides", *map(str, scales), *data]
            steps.append(module("curve", "benchmarks.scale_curve", *curve, "--output", str(docs / "scale_curve")))
    return steps


def module(name: str, module_name: str, *args: str) -> Step:
    """A step that runs `python -m module_name args...` with this interpreter."""
    return Step(name, [sys.executable, "-m", module_name, *args])


def _copier(source: Path, target: Path) -> Callable[[], None]:
    def copy() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    return copy


def catalogue_note(recipe: Recipe) -> str:
    """What is left to serve the shipped model: nothing, or its catalogue entry."""
    name, version = recipe.ship["name"], recipe.ship["version"]
    if any((m.name, m.version) == (name, version) for m in SHIPPED_MODELS):
        return f"{name} {version} is in models/catalogue.toml: `make run` serves it"
    datasets = "+".join(filter(None, (recipe.train["dataset"], recipe.train.get("mix_dataset"))))
    entry = (
        f'[[model]]\nname = "{name}"\nversion = "{version}"\nstem = "{stem_of(recipe)}"\n'
        f'served = "{recipe.ship.get("served", "int8.onnx")}"\ndataset = "{datasets}"'
    )
    return f"to serve it, add to models/catalogue.toml (first of its name to make it the default):\n{entry}"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", type=Path, help="a shipped model's recipe (recipes/*.toml with a [ship] table)")
    p.add_argument("--data-dir", type=Path, required=True, help="the folder holding each dataset's folder")
    p.add_argument("--runs-dir", type=Path, required=True, help="where run directories live (outside the tree)")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where the weights go (default: models/)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    return p


def main(argv: list[str] | None = None) -> list[Step]:
    args = get_args_parser().parse_args(argv)
    recipe = load_recipe(args.recipe)
    if not recipe.ship:
        raise SystemExit(f"{args.recipe}: no [ship] table (a grid of pilots runs with training.compare)")
    steps = plan(recipe, args.data_dir, args.runs_dir, args.models_dir)
    for number, step in enumerate(steps, 1):
        print(f"{number}. {step}", flush=True)
        if not args.dry_run:
            step.run()
    print(catalogue_note(recipe))
    return steps


if __name__ == "__main__":
    main()
