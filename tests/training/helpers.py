"""Argument lists for quick training runs on the fixture datasets."""

from pathlib import Path


def quick_train_argv(
    data_root: Path, output: Path, *extra: str, model: str = "unet_mini", epochs: int = 2
) -> list[str]:
    return [
        "--model",
        model,
        "--width",
        "0.25",
        "--dataset",
        "camvid",
        "--data-root",
        str(data_root),
        "--output",
        str(output),
        "--epochs",
        str(epochs),
        "--batch-size",
        "2",
        "--eval-batch-size",
        "2",
        "--short-side",
        "48",
        "--crop",
        "48",
        "64",
        "--workers",
        "0",
        "--warmup-epochs",
        "0",
        "--lr",
        "3e-3",
        "--device",
        "cpu",
        *extra,
    ]
