import csv

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
