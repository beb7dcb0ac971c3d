"""Benchmark one training step of a registered model in each precision (not a test: prints figures).

    python -m benchmarks.train_step --model vgg16_unet --width 0.5 --batch-size 8 --crop 256 320
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.train_step \
        --model ddrnet23_slim --width 1 --crop 256 512 --loss ce_lovasz --variants "fp32 + compile"
    python -m benchmarks.train_step --crop 256 512 --short-side 256 --variants "bf16 + channels-last" \
        --teacher models/fpn_efficientnet_lite0_v2.0.safetensors

Forward + backward + AdamW on random data with a registered loss (--loss), median of --steps timed steps after
--warmup, with the threads torch uses here; fp32, fp32 + channels-last, fp32 under torch.compile (inductor,
compiled during the warm-up), both, and bf16 autocast + channels-last (the choice of `--precision bf16`). Prints
With --teacher, also the teacher's forward pass on the same batch as distillation runs it (`training.distillation`:
resized to the teacher's own scale, at --precision auto): the cost a teacher adds to each step. Prints
whether this CPU has native bf16, what `--precision auto` picks and the memory allocator (LD_PRELOAD, as the
Makefile's training targets run under tcmalloc).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from segmenter.models import build_model
from segmenter.precision import cpu_has_bf16, resolve_precision
from training.distillation import Teacher
from training.losses import LOSSES, build_loss
from training.step_timing import training_step_seconds

VARIANTS = {  # name: (autocast precision, memory format, torch.compile)
    "fp32": ("fp32", torch.contiguous_format, False),
    "fp32 + channels-last": ("fp32", torch.channels_last, False),
    "fp32 + compile": ("fp32", torch.contiguous_format, True),
    "fp32 + channels-last + compile": ("fp32", torch.channels_last, True),
    "bf16 + channels-last": ("bf16", torch.channels_last, False),
}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="vgg16_unet", help="registered model name")
    p.add_argument("--width", type=float, default=0.5, help="channel multiplier")
    p.add_argument("--batch-size", type=int, default=8, help="images per step")
    p.add_argument("--crop", type=int, nargs=2, default=(256, 320), metavar=("H", "W"), help="input size")
    p.add_argument("--loss", default="ce", choices=sorted(LOSSES), help="training loss (unweighted)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per variant")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant")
    p.add_argument("--teacher", help="also time this trained model's forward pass on the batch, as a teacher")
    p.add_argument("--short-side", type=int, help="the student's training scale (default: the crop's height)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="what to time")
    return p


def step_seconds(
    model_name: str, width: float, loss: str, batch: int, crop: tuple[int, int], steps: int, warmup: int, variant: str
) -> float:
    """Median seconds of one training step of a freshly built model in one of VARIANTS."""
    precision, layout, compiled = VARIANTS[variant]
    torch.manual_seed(0)
    model = build_model(model_name, width=width)
    return training_step_seconds(model, build_loss(loss), batch, crop, precision, layout, compiled, steps, warmup)


def main(args: argparse.Namespace) -> dict[str, float]:
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_bf16()}, "
        f"--precision auto picks {resolve_precision('auto', torch.device('cpu'))}"
    )
    print(f"memory allocator: {os.environ.get('LD_PRELOAD') or 'the C library'}")
    size = f"{args.crop[0]}x{args.crop[1]}"
    print(f"{args.model} width {args.width:g}, batch {args.batch_size}, {size}, loss {args.loss}")
    results = {}
    for name in args.variants:
        results[name] = step_seconds(
            args.model, args.width, args.loss, args.batch_size, tuple(args.crop), args.steps, args.warmup, name
        )
        ratio = results[args.variants[0]] / results[name]
        print(f"  {name:<22} {results[name]:7.2f} s/step  ({ratio:.2f}x vs {args.variants[0]})", flush=True)
    if args.teacher:
        student_scale = args.short_side or args.crop[0]
        results["teacher"] = teacher_seconds(
            args.teacher, student_scale, args.batch_size, tuple(args.crop), args.steps, args.warmup
        )
        print(f"  {'teacher forward':<22} {results['teacher']:7.2f} s/step  ({args.teacher})", flush=True)
    return results


def teacher_seconds(
    weights: str, student_scale: int, batch: int, crop: tuple[int, int], steps: int, warmup: int
) -> float:
    """Median seconds of the teacher's forward pass on one batch, as `training.distillation.Teacher` runs it."""
    device = torch.device("cpu")
    teacher = Teacher(weights, device, resolve_precision("auto", device), student_scale)
    images = torch.randn(batch, 3, *crop)
    times = []
    for step in range(warmup + steps):
        started = time.perf_counter()
        teacher(images)
        if step >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
