"""The shipped default model through the handler's own path: archive from models/, TorchServe's Context."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stack.archive import SHIPPED_CONFIG, SHIPPED_WEIGHTS, ensure_archive
from tests.handler.conftest import load_handler, torchserve_context
from training.categories import category_ids_from_camvid_classes
from training.metrics import ConfusionMatrix

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val"
# Regression guard, not a target: the figure measured on these six images, less 0.035 of margin.
MEASURED_MIOU = 0.5953  # tests/handler/test_shipped_model.py -s prints it
MIOU_FLOOR = 0.56


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("shipped")
    archive = ensure_archive(workdir / "model_store")
    return load_handler(archive, workdir)


def test_archive_builds_from_the_committed_weights(shipped):
    handler, _, manifest = shipped
    config = json.loads(SHIPPED_CONFIG.read_text())
    assert SHIPPED_WEIGHTS.stat().st_size < 20 * 2**20  # compact: fp16, no optimiser state
    assert manifest["model"]["modelVersion"] == "1.0" and manifest["model"]["modelName"] == "roadseg"
    assert handler.config["model"] == config["model"] == "vgg16_unet"
    assert handler.short_side == config["short_side"] == 360  # the training scale


def test_shipped_model_segments_camvid_val_above_the_floor(shipped):
    handler, model_dir, manifest = shipped
    confusion = ConfusionMatrix()
    images = sorted((FIXTURES / "val").glob("*.png"))
    assert len(images) == 6
    for image in images:
        context = torchserve_context(model_dir, manifest, 1)
        [png] = handler.handle([{"body": bytearray(image.read_bytes())}], context)
        mask = np.array(Image.open(io.BytesIO(png)))
        labels = category_ids_from_camvid_classes(np.asarray(Image.open(FIXTURES / "valannot" / image.name)))
        assert mask.shape == labels.shape
        confusion.update(torch.from_numpy(labels), torch.from_numpy(mask))
    miou = confusion.compute()["miou"]
    print(f"mIoU on the six fixture images: {miou:.4f}")
    assert miou >= MIOU_FLOOR, f"mIoU {miou:.3f} fell below the floor {MIOU_FLOOR} (measured {MEASURED_MIOU})"
