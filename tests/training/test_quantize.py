import json
from pathlib import Path

import onnx
import pytest
import torch
from safetensors.torch import save_file

from roadseg.model_config import ModelConfig
from segmenter.weights import model_from_config
from training import quantize

FIXTURE_CAMVID = Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val"


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A seeded VGG16 U-Net (width 0.125) exported as models/ holds one: X.safetensors beside X.json."""
    torch.manual_seed(1)
    config = ModelConfig("vgg16_unet", {"width": 0.125}, 96, "fixture")
    folder = tmp_path_factory.mktemp("weights")
    state = model_from_config(config).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "m.safetensors")
    (folder / "m.json").write_text(config.to_json())
    return folder / "m.safetensors"


def argv(weights: Path, output: Path, *extra: str) -> list[str]:
    return [
        "--weights",
        str(weights),
        "--dataset",
        "camvid",
        "--data-root",
        str(FIXTURE_CAMVID),
        "--calibration-split",
        "val",
        "--calibration-images",
        "3",
        "--output",
        str(output),
        *extra,
    ]


def test_calibration_images_are_evenly_spread_and_prepared_as_the_handler_prepares_them():
    images = quantize.calibration_images("camvid", FIXTURE_CAMVID, "val", 96, 3)
    assert len(images) == 3 and all(i.shape == (3, 96, 128) and i.dtype == "float32" for i in images)
    assert not any((images[0] == other).all() for other in images[1:])


def test_quantize_writes_an_int8_graph_and_its_check_against_fp32(weights, tmp_path):
    output = tmp_path / "m.int8.onnx"
    report = quantize.main(quantize.get_args_parser().parse_args(argv(weights, output)))
    graph = onnx.load(output)
    ops = {node.op_type for node in graph.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    int8_weights = [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 4]
    assert int8_weights  # the convolution weights are stored as int8
    stored = json.loads(output.with_name("m.int8.onnx.json").read_text())
    assert stored == json.loads(json.dumps(report))
    check = stored["check"]
    assert check["images"] == 6 and stored["quantization"]["calibration_images"] == 3
    assert check["onnxruntime int8"]["pixel_agreement"] > 0.9
    assert check["onnxruntime int8"]["miou_change"] == pytest.approx(
        check["onnxruntime int8"]["miou"] - check["reference"]["miou"]
    )
    assert stored["within_tolerance"] is True


def test_quantize_fails_when_the_mIoU_drop_exceeds_the_tolerance(weights, tmp_path):
    # A negative tolerance demands a gain no quantisation gives: the gate must refuse, and say why.
    with pytest.raises(SystemExit, match=r"more than the -0\.5 tolerance"):
        quantize.main(quantize.get_args_parser().parse_args(argv(weights, tmp_path / "q.onnx", "--tolerance", "-0.5")))
    assert json.loads((tmp_path / "q.onnx.json").read_text())["within_tolerance"] is False
