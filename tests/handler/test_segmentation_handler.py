"""The handler class driven as TorchServe drives it, from a real archive, without a TorchServe process."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.archives import build_constant_archive
from tests.handler.conftest import load_handler, torchserve_context
from tests.images import image_bytes


@pytest.fixture
def handler_and_context(tmp_path):
    archive = build_constant_archive(tmp_path / "store", 7, "3.1", "roadseg.mar")
    handler, model_dir, manifest = load_handler(archive, tmp_path)
    return handler, (model_dir, manifest)


def test_initialize_reads_scale_and_model_from_the_archive(handler_and_context):
    handler, _ = handler_and_context
    assert handler.short_side == 64 and handler.config.model == "unet_mini" and handler.config.version == "3.1"


def test_a_batch_with_one_bad_image_refuses_only_that_request(handler_and_context):
    handler, (model_dir, manifest) = handler_and_context
    context = torchserve_context(model_dir, manifest, 3)
    batch = [
        {"body": bytearray(image_bytes("png-rgb", 90, 60))},
        {"data": b"garbage"},
        {"file": image_bytes("jpeg", 30, 50)},
    ]
    outputs = handler.handle(batch, context)
    assert len(outputs) == 3
    assert context.get_response_status(1) == (
        400,
        "the file is not an image that can be read (supported: PNG, JPEG, WebP, BMP, TIFF)",
    )
    assert context.get_response_content_type(1) == "application/json"
    assert json.loads(outputs[1])["type"] == "InvalidImage"
    for index, size in ((0, (90, 60)), (2, (30, 50))):
        assert context.get_response_content_type(index) == "image/png"
        assert context.get_response_status(index)[0] in (None, 200)
        mask = Image.open(io.BytesIO(outputs[index]))
        assert mask.size == size and np.unique(np.asarray(mask)).tolist() == [7]
