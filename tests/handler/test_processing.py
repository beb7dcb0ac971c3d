import io

import numpy as np
import torch
from PIL import Image

from handler.processing import batches_by_shape, mask_png, prepare_image, run_model
from tests.images import image_bytes
from training.models import build_model


def test_prepare_image_resizes_to_the_short_side_and_keeps_the_original_size():
    item = prepare_image(bytearray(image_bytes("png-rgba", 2048, 1024)), short_side=360, max_pixels=10**8)
    assert item.error is None and item.size == (1024, 2048)
    assert item.tensor.shape == (3, 360, 720) and item.tensor.dtype == torch.float32
    assert -3 < item.tensor.mean() < 3  # normalised, not 0..255


def test_prepare_image_reports_bad_bytes_instead_of_raising():
    item = prepare_image(b"", 360, 10**8)
    assert item.tensor is None and "empty" in item.error


def test_batches_group_equal_shapes_and_skip_refused_items():
    items = [prepare_image(image_bytes("png-rgb", w, h), 32, 10**8) for w, h in [(64, 48), (40, 30), (64, 48)]]
    items.append(prepare_image(b"x", 32, 10**8))
    groups = batches_by_shape(items)
    assert sorted(groups.values()) == [[0, 1, 2]] or sorted(map(sorted, groups.values())) == [[0, 2], [1]]


def test_run_model_and_mask_png_return_masks_of_each_input_size():
    model = build_model("unet_mini", width=0.25).eval()
    sizes = [(64, 48), (33, 61), (64, 48)]
    items = [prepare_image(image_bytes("png-rgb", w, h), 32, 10**8) for w, h in sizes] + [prepare_image(b"", 32, 10**8)]
    logits = run_model(model, items, torch.device("cpu"))
    assert logits[-1] is None
    for item, item_logits, (w, h) in zip(items, logits, sizes):
        mask = Image.open(io.BytesIO(mask_png(item_logits, item.size)))
        assert mask.mode == "L" and mask.size == (w, h)
        assert np.asarray(mask).max() <= 7
