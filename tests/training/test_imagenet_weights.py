import numpy as np
import pytest
import timm
import torch
from PIL import Image
from skimage import data

from roadseg.preprocessing import normalized_chw
from segmenter.models import build_model
from segmenter.models.efficientnet_lite import LiteInput, StaticSamePadConv2d
from training.imagenet_weights import imagenet_classifier, imagenet_state_dict, load_imagenet_encoder, variant_of

TABBY_TO_EGYPTIAN_CAT = range(281, 286)  # ImageNet's cat classes
ESPRESSO = 967


def lite_scaled(rgb: np.ndarray, size: int) -> torch.Tensor:
    """Google's EfficientNet-Lite input: resized, (pixel - 127) / 128."""
    resized = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
    return torch.from_numpy((resized - 127) / 128).permute(2, 0, 1)[None]


@pytest.mark.parametrize(("variant", "size"), [("efficientnet_lite0", 224), ("efficientnet_lite2", 260)])
def test_the_wheels_weights_label_a_cat_and_an_espresso(variant, size):
    classifier = imagenet_classifier(variant)
    with torch.inference_mode():
        cat = classifier(lite_scaled(data.chelsea(), size)).softmax(1)[0]
        cup = classifier(lite_scaled(data.coffee(), size)).softmax(1)[0]
    assert int(cat.argmax()) in TABBY_TO_EGYPTIAN_CAT and float(cat.max()) > 0.5
    assert int(cup.argmax()) == ESPRESSO and float(cup.max()) > 0.5


def test_remap_covers_every_tensor_of_timms_model_by_shape():
    state = imagenet_state_dict("efficientnet_lite0")
    target = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    assert state.keys() == target.keys()
    assert all(state[k].shape == target[k].shape and state[k].is_contiguous() for k in target)


def test_the_segmenters_encoder_computes_the_classifiers_features_from_the_projects_input():
    """ImageNet mean/std input, rescaled inside the model: the stride-32 features equal the classifier's blocks."""
    model = build_model("fpn_efficientnet_lite0").eval()
    assert load_imagenet_encoder(model, "fpn_efficientnet_lite0") == len(model.encoder.model.state_dict())
    classifier = imagenet_classifier("efficientnet_lite0")
    rgb = np.asarray(Image.fromarray(data.chelsea()).resize((256, 192)))
    projects_input = torch.from_numpy(normalized_chw(rgb))[None]
    with torch.inference_mode():
        features = model.net.encoder(model.net.to_lite_scale(projects_input))[-1]
        expected = classifier.blocks(classifier.bn1(classifier.conv_stem(lite_scaled_exact(rgb))))
    torch.testing.assert_close(features, expected, atol=1e-4, rtol=1e-4)


def lite_scaled_exact(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy((rgb.astype(np.float32) - 127) / 128).permute(2, 0, 1)[None]


def test_lite_input_maps_the_projects_normalisation_to_googles_scale():
    pixels = np.array([[[0, 127, 255], [30, 200, 90]]], dtype=np.uint8)
    rescaled = LiteInput()(torch.from_numpy(normalized_chw(pixels))[None])
    torch.testing.assert_close(rescaled, lite_scaled_exact(pixels), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (5, 2), (3, 1)])
def test_static_same_padding_matches_timms_dynamic_one(kernel, stride):
    from timm.layers import Conv2dSame

    torch.manual_seed(0)
    dynamic = Conv2dSame(4, 6, kernel, stride)
    static = StaticSamePadConv2d(dynamic)
    x = torch.randn(2, 4, 32, 64)
    torch.testing.assert_close(static(x), dynamic(x))


def test_imagenet_weights_only_for_efficientnet_lite_models():
    assert variant_of("unet_efficientnet_lite2") == "efficientnet_lite2"
    with pytest.raises(ValueError, match="no EfficientNet-Lite encoder"):
        variant_of("ddrnet23_slim")
