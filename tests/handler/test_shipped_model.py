"""The shipped model versions through the handler's own path: archives from models/, TorchServe's Context."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from handler.archive import ensure_archives
from roadseg.catalogue import SHIPPED_MODELS
from roadseg.categories import category_ids_from_camvid_classes
from tests.handler.conftest import load_handler, torchserve_context
from training.metrics import ConfusionMatrix

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val"
# Regression guards, not targets: what `pytest tests/handler/test_shipped_model.py -s` printed for each
# version on the six fixture images, less a margin. Version 2.0 must also keep seeing people and poles.
# Version 3.0 and roadseg-rt are Cityscapes models (its images may not be committed): CamVid is their
# cross-dataset check. Keyed by (model name, version).
FLOORS = {
    ("roadseg", "1.0"): {"miou": 0.56},  # measured 0.5953
    ("roadseg", "2.0"): {"miou": 0.63, "human": 0.39, "object": 0.11},  # measured 0.6642, 0.4389, 0.1452
    ("roadseg", "3.0"): {"miou": 0.35, "human": 0.28},  # measured 0.3923, 0.3252 (object 0.0539)
    ("roadseg", "4.0"): {"miou": 0.63},  # measured 0.6718: trained on CamVid too
    ("roadseg-rt", "2.0"): {"miou": 0.68},  # measured 0.7187
    ("roadseg-rt", "1.0"): {"miou": 0.39},  # measured 0.4317
}
# What each shipped model is: architecture, dataset, inference scale (short side).
TRAINED_ON = {
    ("roadseg", "3.0"): ("vgg16_unet", "cityscapes", 256),
    ("roadseg", "4.0"): ("vgg16_unet", "cityscapes", 256),
    ("roadseg", "2.0"): ("vgg16_unet", "camvid", 360),
    ("roadseg", "1.0"): ("vgg16_unet", "camvid", 360),
    ("roadseg-rt", "2.0"): ("fpn_efficientnet_lite0", "cityscapes", 384),
    ("roadseg-rt", "1.0"): ("ddrnet23_slim", "cityscapes", 256),
}


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return ensure_archives(tmp_path_factory.mktemp("shipped") / "model_store")


def test_every_shipped_version_is_archived_default_first(archives):
    assert [p.name for p in archives] == [m.archive_name for m in SHIPPED_MODELS]
    assert [(m.name, m.version) for m in SHIPPED_MODELS] == list(TRAINED_ON)
    for model in SHIPPED_MODELS:
        assert model.weights.stat().st_size < 20 * 2**20  # compact: fp16, no optimiser state
        config = json.loads(model.config.read_text())
        assert (config["model"], config["dataset"], config["short_side"]) == TRAINED_ON[(model.name, model.version)]


def fixture_metrics(handler, model_dir, manifest) -> dict:
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
    return confusion.compute()


@pytest.mark.parametrize("index", range(len(SHIPPED_MODELS)), ids=[m.archive_name for m in SHIPPED_MODELS])
def test_shipped_version_segments_camvid_val_above_its_floor(archives, index, tmp_path):
    shipped = SHIPPED_MODELS[index]
    key = (shipped.name, shipped.version)
    handler, model_dir, manifest = load_handler(archives[index], tmp_path)
    assert (manifest["model"]["modelName"], manifest["model"]["modelVersion"]) == key
    assert handler.segmenter.config.model == TRAINED_ON[key][0]
    metrics = fixture_metrics(handler, model_dir, manifest)
    measured = {"miou": metrics["miou"], **{c: v["iou"] for c, v in metrics["per_category"].items()}}
    figures = ", ".join(f"{k} {measured[k]:.4f}" for k in FLOORS[key])
    print(f"{shipped.archive_name} on the six fixture images: {figures}")
    for name, floor in FLOORS[key].items():
        assert measured[name] >= floor, f"{shipped.archive_name}: {name} IoU {measured[name]:.3f} fell below {floor}"
