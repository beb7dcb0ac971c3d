import json
from pathlib import Path

import pytest

from tests.training.helpers import quick_train_argv
from training import evaluate, train


@pytest.fixture
def checkpoint(camvid_root, tmp_path):
    out = tmp_path / "run"
    train.main(train.parse_config(quick_train_argv(camvid_root, out, epochs=1)))
    return out / "best.pt"


def evaluate_argv(source: Path, camvid_root: Path, out: Path, *extra: str) -> list[str]:
    """training.evaluate on the fixture's CamVid, in-process (no workers) on the CPU."""
    return ["--checkpoint", str(source), "--dataset", "camvid", "--data-root", str(camvid_root), "--json", str(out),
            "--workers", "0", "--device", "cpu", *extra]  # fmt: skip


def test_evaluate_writes_metrics_json_and_confusion_png(camvid_root, checkpoint, tmp_path):
    out = tmp_path / "eval" / "val.json"
    args = evaluate.get_args_parser().parse_args(evaluate_argv(checkpoint, camvid_root, out, "--split", "val"))
    evaluate.main(args)
    result = json.loads(out.read_text())
    assert result["images"] == 4 and result["split"] == "val" and result["model"] == "unet_mini"
    assert set(result["per_category"]) == {
        "void",
        "flat",
        "construction",
        "object",
        "nature",
        "sky",
        "human",
        "vehicle",
    }
    for key in ("miou", "mdice", "miou_8", "mdice_8", "pixel_accuracy", "val_loss"):
        assert 0 <= result[key] <= (1 if key != "val_loss" else 100)
    # The matrix counts every labelled pixel of the 4 val images, at their native 48x64 size.
    assert sum(map(sum, result["confusion_matrix"])) == 4 * 48 * 64
    assert (out.parent / "val_confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_exported_weights_evaluate_like_their_checkpoint(camvid_root, checkpoint, tmp_path):
    """models/X.safetensors + X.json (what the repository ships) give the checkpoint's figures."""
    from training import export

    export.main(
        export.get_args_parser().parse_args(
            ["--checkpoint", str(checkpoint), "--output", str(tmp_path / "models" / "shipped_v2.0"), "--fp32"]
        )
    )
    results = []
    for source in (checkpoint, tmp_path / "models" / "shipped_v2.0.safetensors"):  # a version is no suffix
        out = tmp_path / "eval" / f"{source.stem}.json"
        evaluate.main(
            evaluate.get_args_parser().parse_args(evaluate_argv(source, camvid_root, out, "--precision", "fp32"))
        )
        results.append(json.loads(out.read_text()))
    assert results[0]["confusion_matrix"] == results[1]["confusion_matrix"]
    assert results[1]["precision"] == "fp32" and results[1]["model"] == "unet_mini"
