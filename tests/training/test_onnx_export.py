import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import save_file

from roadseg.model_config import ModelConfig
from segmenter.models import EFFICIENTNET_LITE_MODELS, REALTIME_MODELS
from segmenter.onnx_model import INPUT_NAME
from segmenter.weights import model_from_config
from training import export
from training.onnx_export import export_onnx

FIXTURE_IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val" / "val"


@pytest.fixture(scope="module")
def random_model() -> tuple[ModelConfig, torch.nn.Module]:
    torch.manual_seed(0)
    config = ModelConfig("vgg16_unet", {"width": 0.125}, 96, "fixture")
    return config, model_from_config(config).eval()


def test_onnx_round_trip_keeps_logits_at_any_batch_and_size(random_model, tmp_path):
    config, model = random_model
    path = export_onnx(model, tmp_path / "m.onnx", config.short_side)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 96, 128), (2, 3, 96, 200), (1, 3, 101, 77)]:  # 101x77: not a multiple of 32
        x = torch.randn(*shape)
        with torch.inference_mode():
            expected = model(x).numpy()
        logits = session.run(None, {INPUT_NAME: x.numpy()})[0]
        assert logits.shape == (shape[0], 8, *shape[2:])
        assert np.abs(logits - expected).max() < 1e-3
        assert (logits.argmax(1) == expected.argmax(1)).mean() > 0.999


def test_export_cli_writes_onnx_and_its_check_on_real_images(random_model, tmp_path):
    config, model = random_model
    weights = tmp_path / "m.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
    weights.with_suffix(".json").write_text(config.to_json())
    onnx_path, report = export.main(
        export.get_args_parser().parse_args(
            [
                "--onnx",
                "--checkpoint",
                str(weights),
                "--output",
                str(tmp_path / "out" / "m"),
                "--check-images",
                str(FIXTURE_IMAGES),
            ]
        )
    )
    assert onnx_path.name == "m.onnx" and onnx_path.stat().st_size > 100_000  # the weights are inside
    assert not list(onnx_path.parent.glob("*.data"))
    check = json.loads(report.read_text())
    assert check["images"] == 6 and check["mask_agreement"] >= 0.999 and check["max_abs_logit_diff"] < 1e-3
    assert check["config"]["model"] == "vgg16_unet"


# One model per export path, not every candidate (an export takes 10-30 s): smp's DeepLabV3+ (a dilated last stage),
# torchvision's LR-ASPP, DDRNet's own blocks (roadseg-rt 1.0) and the EfficientNet-Lite encoder under smp's FPN
# (roadseg-rt 2.0). The other candidates put another encoder (smp's MobileNetV2 or ResNet-18, the Lite ones) under
# these decoders or smp's PSPNet; the VGG16 U-Net's export is the tests above.
EXPORT_PATHS = ["deeplabv3plus_resnet18", "lraspp_mobilenet_v3", "ddrnet23_slim", "fpn_efficientnet_lite0"]
assert set(EXPORT_PATHS) <= set(REALTIME_MODELS) | set(EFFICIENTNET_LITE_MODELS)


@pytest.mark.parametrize("name", EXPORT_PATHS)
def test_each_export_path_exports_to_onnx_with_the_same_logits_at_odd_sizes(name, tmp_path):
    torch.manual_seed(0)
    config = ModelConfig(name, {"width": 0.5}, 64, "fixture")
    model = model_from_config(config).eval()
    path = export_onnx(model, tmp_path / f"{name}.onnx", config.short_side)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 64, 96), (2, 3, 77, 101)]:
        x = torch.randn(*shape)
        with torch.inference_mode():
            expected = model(x).numpy()
        logits = session.run(None, {INPUT_NAME: x.numpy()})[0]
        assert logits.shape == (shape[0], 8, *shape[2:])
        assert (logits.argmax(1) == expected.argmax(1)).mean() > 0.999, name
