import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from roadseg.model_config import ModelConfig
from segmenter.models import build_model
from segmenter.onnx_model import OnnxModel
from segmenter.segmenter import PreparedImage, Segmenter, batches_by_shape, confidence_at_size, prepare_image
from tests.images import image_bytes
from training.onnx_export import export_onnx
from training.quantize import quantize_int8


def test_prepare_image_resizes_to_the_short_side_and_keeps_the_original_size():
    item = prepare_image(bytearray(image_bytes("png-rgba", 2048, 1024)), short_side=360, max_pixels=10**8)
    assert item.error is None and item.size == (1024, 2048)
    assert item.tensor.shape == (3, 360, 720) and item.tensor.dtype == torch.float32
    assert -3 < item.tensor.mean() < 3  # normalised, not 0..255


def test_prepare_image_refuses_images_over_the_shared_pixel_limit(monkeypatch):
    monkeypatch.setenv("ROADSEG_MAX_PIXELS", str(64 * 48 - 1))
    item = prepare_image(image_bytes("png-rgb", 64, 48), short_side=32)
    assert item.tensor is None and "64x48 = 3,072 pixels; the limit is 3,071 pixels" in item.error
    monkeypatch.setenv("ROADSEG_MAX_PIXELS", str(64 * 48))
    assert prepare_image(image_bytes("png-rgb", 64, 48), short_side=32).error is None


def test_prepare_image_reports_bad_bytes_instead_of_raising():
    item = prepare_image(b"", 360, 10**8)
    assert item.tensor is None and "empty" in item.error


def test_batches_group_equal_shapes_and_skip_refused_items():
    # 4:3 and 2:1 images keep different shapes at short side 32: (32, 42) and (32, 64).
    sizes = [(64, 48), (60, 30), (64, 48), (120, 60)]
    items = [prepare_image(image_bytes("png-rgb", w, h), 32, 10**8) for w, h in sizes]
    items.insert(2, prepare_image(b"x", 32, 10**8))
    assert batches_by_shape(items) == {(3, 32, 42): [0, 3], (3, 32, 64): [1, 4]}


CONFIG = ModelConfig("unet_mini", {"width": 0.25}, short_side=32)


def test_logits_of_each_item_and_masks_of_each_input_size():
    segmenter = Segmenter(build_model("unet_mini", width=0.25), CONFIG, precision="fp32")
    sizes = [(64, 48), (33, 61), (64, 48)]
    items = [segmenter.prepare(image_bytes("png-rgb", w, h), 10**8) for w, h in sizes] + [segmenter.prepare(b"")]
    logits = segmenter.logits(items)
    assert logits[-1] is None
    for item, item_logits, (w, h) in zip(items[:-1], logits[:-1], sizes, strict=True):
        assert item_logits.shape[0] == 8 and item.size == (h, w)
    rgb = np.asarray(Image.open(io.BytesIO(image_bytes("png-rgb", 33, 61))).convert("RGB"))
    ids = segmenter.segment(rgb)
    assert ids.shape == (61, 33) and ids.dtype == np.uint8 and ids.max() <= 7


FIXTURE_IMAGES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val" / "val").glob("*.png"))


@pytest.fixture(scope="module")
def road_model(tmp_path_factory) -> tuple[torch.nn.Module, Path, Path, list[PreparedImage]]:
    """A seeded VGG16 U-Net (width 0.125), its fp32 and INT8 graphs (calibrated on half of the real road
    fixtures), and the other half prepared as the handler prepares them."""
    torch.manual_seed(0)
    model = build_model("vgg16_unet", width=0.125).eval()
    folder = tmp_path_factory.mktemp("graphs")
    fp32 = export_onnx(model, folder / "fp32.onnx", 96)
    calibration = [prepare_image(p.read_bytes(), 96).tensor.numpy() for p in FIXTURE_IMAGES[:3]]
    int8 = quantize_int8(fp32, folder / "int8.onnx", calibration)
    items = [prepare_image(p.read_bytes(), 96) for p in FIXTURE_IMAGES[3:]]
    return model, fp32, int8, items


def masks(logits: list[torch.Tensor | None]) -> torch.Tensor:
    return torch.stack([t.argmax(0) for t in logits if t is not None])


@pytest.mark.parametrize(
    "runtime, precision, min_agreement",
    [("torch", "bf16", 0.97), ("onnx fp32", "fp32", 0.999), ("onnx int8", "fp32", 0.95)],
)
def test_each_precision_and_runtime_gives_masks_that_agree_with_fp32(road_model, runtime, precision, min_agreement):
    model, fp32_graph, int8_graph, items = road_model
    config = ModelConfig("vgg16_unet", {"width": 0.125}, short_side=96)
    expected = masks(Segmenter(model, config, precision="fp32").logits(items))
    variant = {"torch": model, "onnx fp32": OnnxModel(fp32_graph), "onnx int8": OnnxModel(int8_graph)}[runtime]
    segmenter = Segmenter(variant, config, precision=precision)
    assert segmenter.runtime == ("torch" if runtime == "torch" else "onnxruntime")
    logits = segmenter.logits(items)
    assert all(t is not None and t.dtype == torch.float32 for t in logits)
    agreement = (masks(logits) == expected).float().mean().item()
    assert agreement >= min_agreement, agreement
    print(f"{runtime} {precision}: {agreement:.4f}")


def test_confidence_is_the_highest_softmax_probability_resized_to_the_image():
    logits = torch.zeros((8, 2, 2))
    logits[3, 0, 0] = float(np.log(21))  # 21 / (21 + 7) = 0.75 for category 3, 1/8 where all tie
    confidence = confidence_at_size(logits, (2, 2))
    assert confidence.dtype == np.uint8 and confidence.tolist() == [[191, 32], [32, 32]]
    assert confidence_at_size(logits, (4, 4)).shape == (4, 4)
