"""The scale curve end to end on a tiny model and the Cityscapes-layout fixture (timings not asserted)."""

import json

import torch

from benchmarks import scale_curve
from roadseg.model_config import ModelConfig
from segmenter.weights import model_from_config
from tests.benchmarks.test_embedded import export_untrained
from training.onnx_export import export_onnx


def test_one_row_per_scale_with_accuracy_and_speed(cityscapes_root, tmp_path):
    weights = export_untrained(tmp_path, "unet_mini", short_side=32)
    config = ModelConfig.read(weights.with_suffix(".json"))
    torch.manual_seed(0)
    graph = export_onnx(model_from_config(config).eval(), tmp_path / "unet_mini.onnx", 32)
    graph.with_name(graph.name + ".json").write_text(json.dumps({"config": config.to_dict()}))
    output = tmp_path / "curve"
    argv = ["--weights", str(weights), "--onnx", str(graph), "--short-sides", "16", "32", "--dataset", "cityscapes"]
    page = scale_curve.main(
        scale_curve.get_args_parser().parse_args(
            [*argv, "--data-root", str(cityscapes_root), "--runs", "2", "--output", str(output)]
        )
    )
    points = json.loads(output.with_suffix(".json").read_text())
    assert [p["short_side"] for p in points] == [16, 32] and [p["input"] for p in points] == ["32x16", "64x32"]
    assert all(0 <= p["miou"] <= 1 and p["ms"] > 0 for p in points)
    assert page.count("\n| 16 | 32x16 |") == 1 and output.with_suffix(".md").read_text() == page
