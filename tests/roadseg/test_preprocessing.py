import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from roadseg.preprocessing import MEAN, STD, model_input, resized_size_for_short_side


def test_resized_size_keeps_aspect_ratio():
    assert resized_size_for_short_side(1024, 2048, 360) == (360, 720)
    assert resized_size_for_short_side(4032, 3024, 360) == (480, 360)


def test_model_input_is_normalised_chw_at_the_short_side():
    rgb = np.zeros((60, 90, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    x = model_input(rgb, 40)
    assert x.shape == (3, 40, 60) and x.dtype == np.float32 and x.flags.c_contiguous
    expected = [(1 - MEAN[0]) / STD[0], -MEAN[1] / STD[1], -MEAN[2] / STD[2]]
    assert x.reshape(3, -1).mean(1) == pytest.approx(expected, abs=1e-5)


def test_model_input_matches_torchvision_antialiased_resize():
    """Pillow's antialiased bilinear (used here, torch-free) is what torchvision's resize(antialias=True) copies."""
    rng = np.random.default_rng(0)
    rgb = (rng.random((37, 53, 3)) * 255).astype(np.uint8)
    rgb = np.kron(rgb, np.ones((8, 8, 1), dtype=np.uint8))  # 296x424: smooth enough for bilinear to agree
    ours = model_input(rgb, 120)
    image = TF.resize(torch.from_numpy(rgb).permute(2, 0, 1), [120], antialias=True)
    theirs = TF.normalize(TF.to_dtype(image, torch.float32, scale=True), MEAN, STD).numpy()
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() * STD[0] * 255 <= 2.5  # at most ~2 grey levels apart


def test_image_already_at_the_scale_is_only_normalised():
    rgb = np.full((36, 48, 3), 128, dtype=np.uint8)
    assert model_input(rgb, 36)[1] == pytest.approx(np.full((36, 48), (128 / 255 - MEAN[1]) / STD[1]), abs=1e-6)
