import csv

import pytest

from tests.training.helpers import quick_train_argv
from training import compare, train


def test_compare_writes_table_csv_and_chart(camvid_root, tmp_path):
    runs = []
    for model in ("unet_mini", "dilatednet"):
        out = tmp_path / model
        train.main(train.get_args_parser().parse_args(quick_train_argv(camvid_root, out, model=model, epochs=1)))
        runs.append(out)
    output = tmp_path / "docs" / "comparison"
    args = compare.get_args_parser().parse_args(
        ["--runs", *map(str, runs), "--output", str(output), "--latency-size", "48", "64", "--latency-runs", "2"]
    )
    rows = compare.main(args)
    assert [r["model"] for r in rows] == ["U-Net Mini (width 0.25)", "DilatedNet (width 0.25)"]
    assert all(r["params_m"] > 0 and r["gmacs"] > 0 and r["cpu_ms"] > 0 for r in rows)
    table = output.with_suffix(".md").read_text()
    assert "| U-Net Mini (width 0.25) | combined |" in table and "Seed's table" in table
    assert "Budget (every model): at most 1 epochs (early stopping patience 10), batch 2, crops 48x64" in table
    with open(output.with_suffix(".csv")) as f:
        assert len(list(csv.DictReader(f))) == 2
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    args.per_category = True  # per-category columns beside several architectures keep the seed's table
    compare.main(args)
    table = output.with_suffix(".md").read_text()
    assert "| human IoU |" in table and "Seed's table" in table


def test_the_seed_s_table_is_left_out_beside_other_architectures(cityscapes_root, tmp_path):
    runs = []
    for model in ("lraspp_mobilenet_v3", "ddrnet23_slim"):
        argv = ["--model", model, "--width", "0.25", "--dataset", "cityscapes", "--data-root", str(cityscapes_root)]
        argv += ["--epochs", "1", "--batch-size", "2", "--short-side", "64", "--output", str(tmp_path / model)]
        # fp32: on an AMD EPYC with AVX-512 BF16, torch 2.14.1's bf16 backward of DDRNet-23-slim at width 0.25
        # on 512x1024 inputs corrupts the heap ("double free"); this test is about the table, not the precision.
        argv += ["--precision", "fp32"]
        train.main(train.get_args_parser().parse_args(argv))
        runs.append(tmp_path / model)
    output = tmp_path / "realtime"
    argv = ["--runs", *map(str, runs), "--output", str(output), "--latency-runs", "0", "--latency-size", "64", "128"]
    rows = compare.main(compare.get_args_parser().parse_args(argv))
    assert [r["model"] for r in rows] == ["LR-ASPP (MobileNetV3-Large) (width 0.25)", "DDRNet-23-slim (width 0.25)"]
    assert "Seed's table" not in output.with_suffix(".md").read_text()


def test_per_category_table_of_pilots(camvid_root, tmp_path):
    import json

    runs = []
    for weighting in ("none", "median_freq"):
        out = tmp_path / weighting
        train.main(
            train.get_args_parser().parse_args(
                quick_train_argv(camvid_root, out, "--class-weights", weighting, "--loss", "ce_lovasz", epochs=1)
            )
        )
        runs.append(out)
    output = tmp_path / "pilots"
    rows = compare.main(
        compare.get_args_parser().parse_args(
            [
                "--runs",
                *map(str, runs),
                "--output",
                str(output),
                "--per-category",
                "--latency-runs",
                "0",
                "--latency-size",
                "48",
                "64",
            ]
        )
    )
    assert [r["class_weighting"] for r in rows] == ["none", "median_freq"]
    for row, run in zip(rows, runs, strict=True):
        per_category = json.loads((run / "summary.json").read_text())["per_category_iou"]
        assert row["human"] == round(per_category["human"], 3) and "void" not in row
        assert row["cpu_ms"] == "n/a" and row["loss"] == "CE + Lovász"
    table = output.with_suffix(".md").read_text()
    assert "| Class weights | flat IoU | construction IoU | object IoU |" in table and "Seed's table" not in table
    assert ", starting from" not in table and "from scratch" in table  # the shared budget is stated


def test_a_wall_clock_budget_gives_each_model_the_epochs_its_step_time_allows(camvid_root, tmp_path, monkeypatch):
    """8 fixture images at batch 2: 4 steps an epoch. At 0.1 s a step, 1.2 s buy 3 epochs; at 1 s a step, a
    quarter of one epoch (2 images). Both are timed before either trains."""
    import json

    step_seconds = {"unet_mini": 0.1, "dilatednet": 1.0}
    events = []

    def timed(name, *args, **kwargs):
        events.append(f"time {name}")
        return step_seconds[name]

    def trained(args):
        events.append(f"train {args.model}")
        return train_main(args)

    train_main = train.main
    monkeypatch.setattr(compare, "training_step_seconds", timed)
    monkeypatch.setattr(train, "main", trained)
    argv = [
        *("--train", "--models", "unet_mini", "dilatednet", "--width", "0.25", "--dataset", "camvid"),
        *("--data-root", str(camvid_root), "--budget-minutes", "0.02", "--batch-size", "2", "--crop", "48", "64"),
        *("--short-side", "48", "--runs-dir", str(tmp_path / "runs"), "--output", str(tmp_path / "table")),
        *("--latency-runs", "0", "--latency-size", "48", "64", "--precision", "fp32"),
    ]
    compare.main(compare.get_args_parser().parse_args(argv))
    summaries = {m: json.loads((tmp_path / "runs" / m / "summary.json").read_text()) for m in step_seconds}
    assert summaries["unet_mini"]["epochs_run"] == 3 and summaries["dilatednet"]["epochs_run"] == 1
    assert events == ["time unet_mini", "time dilatednet", "train unet_mini", "train dilatednet"]
    history = json.loads((tmp_path / "runs" / "dilatednet" / "history.json").read_text())
    assert history[0]["train_steps"] == 1  # 2 images
    assert all(s["budget"]["minutes"] == 0.02 for s in summaries.values())
    assert "Budget (every model): 0.02 minutes of training on this CPU" in (tmp_path / "table.md").read_text()


def test_a_resumed_budget_run_keeps_the_epochs_it_was_sized_to(camvid_root, tmp_path, monkeypatch):
    """The step time measured in a later session (here 10x slower) must not change an unfinished run's schedule."""
    args = compare.get_args_parser().parse_args(
        [
            *("--train", "--models", "unet_mini", "--dataset", "camvid", "--data-root", str(camvid_root)),
            *("--budget-minutes", "0.02", "--batch-size", "2", "--crop", "48", "64"),
        ]
    )
    run_dir = tmp_path / "unet_mini"
    monkeypatch.setattr(compare, "training_step_seconds", lambda *args, **kwargs: 0.1)
    assert compare.sized_budget(args, "unet_mini", run_dir) == (3, None)  # 4 steps an epoch, 1.2 s
    monkeypatch.setattr(compare, "training_step_seconds", lambda *args, **kwargs: 1.0)
    assert compare.sized_budget(args, "unet_mini", run_dir) == (3, None)
    assert compare.sized_budget(args, "unet_mini", tmp_path / "fresh") == (1, 2)  # a new run is measured


@pytest.mark.parametrize(
    ("step_s", "expected"), [(0.1003, (3, None)), (0.11, (3, None)), (0.14, (2, None)), (0.5, (1, 4))]
)
def test_a_budget_buys_the_nearest_whole_number_of_epochs(camvid_root, monkeypatch, step_s, expected):
    """8 fixture images at batch 2, 1.2 s: 2.99 epochs train 3 (not 2, a third short), 2.14 train 2; less than
    one epoch trains that part of the images."""
    args = compare.get_args_parser().parse_args(
        [
            *("--train", "--models", "unet_mini", "--dataset", "camvid", "--data-root", str(camvid_root)),
            *("--budget-minutes", "0.02", "--batch-size", "2", "--crop", "48", "64"),
        ]
    )
    monkeypatch.setattr(compare, "training_step_seconds", lambda *args, **kwargs: step_s)
    assert compare.epochs_within_budget(args, "unet_mini") == expected


def test_training_step_seconds_times_a_real_step_in_a_fresh_process():
    seconds = compare.training_step_seconds("unet_mini", 0.25, 2, (32, 48), "ce_lovasz", "fp32", False, steps=2)
    assert 0 < seconds < 10
