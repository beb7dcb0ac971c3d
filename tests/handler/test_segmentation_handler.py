"""The handler class driven as TorchServe drives it, from a real archive, without a TorchServe process."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from ts.context import RequestProcessor

from handler.archive import build_archive
from segmenter.onnx_model import OnnxModel, cpu_threads
from tests.archives import build_constant_archive, constant_model
from tests.handler.conftest import load_handler, torchserve_context
from tests.images import image_bytes


@pytest.fixture
def handler_and_context(tmp_path):
    archive = build_constant_archive(tmp_path / "store", 7, "3.1", "roadseg.mar")
    handler, model_dir, manifest = load_handler(archive, tmp_path)
    return handler, (model_dir, manifest)


def test_initialize_reads_scale_and_model_from_the_archive(handler_and_context):
    handler, _ = handler_and_context
    assert (
        handler.segmenter.short_side == 64
        and handler.segmenter.config.model == "unet_mini"
        and handler.segmenter.config.version == "3.1"
    )


def test_describe_says_what_the_model_was_trained_on_and_how_it_runs(handler_and_context):
    handler, _ = handler_and_context
    described = json.loads(handler.describe_handle())
    assert described["dataset"] == "fixture" and described["model"] == "unet_mini" and described["version"] == "3.1"
    assert described["runtime"] == "torch" and described["precision"] in ("fp32", "bf16")


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


def test_an_onnx_archive_is_run_by_onnx_runtime_with_the_same_processing(tmp_path):
    archive = build_constant_archive(tmp_path / "store", 4, "3.2", "roadseg.mar", onnx=True)
    handler, model_dir, manifest = load_handler(archive, tmp_path)
    assert handler.segmenter.config.runtime == "onnxruntime" and isinstance(handler.segmenter.model, OnnxModel)
    assert handler.segmenter.precision == "fp32" and handler.segmenter.device.type == "cpu"
    context = torchserve_context(model_dir, manifest, 2)
    outputs = handler.handle([{"body": image_bytes("jpeg", 70, 40)}, {"data": b""}], context)
    mask = Image.open(io.BytesIO(outputs[0]))
    assert mask.size == (70, 40) and np.unique(np.asarray(mask)).tolist() == [4]
    assert context.get_response_status(1)[0] == 400 and "empty" in json.loads(outputs[1])["message"]


def test_torch_runtime_runs_at_the_archived_precision_on_the_machine_s_cores(tmp_path):
    threads = torch.get_num_threads()
    archive = tmp_path / "bf16.mar"
    config, state = constant_model(2)
    build_archive(config, state, "3.3", archive, precision="bf16")
    try:
        handler, model_dir, manifest = load_handler(archive, tmp_path)
        assert handler.segmenter.precision == "bf16" and torch.get_num_threads() == cpu_threads()
        convs = [p for p in handler.segmenter.model.parameters() if p.dim() == 4 and p.shape[-1] > 1]
        assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
        outputs = handler.handle([{"body": image_bytes("png-rgb", 50, 30)}], torchserve_context(model_dir, manifest, 1))
        assert np.unique(np.asarray(Image.open(io.BytesIO(outputs[0])))).tolist() == [2]
    finally:
        torch.set_num_threads(threads)


def test_a_request_asking_for_confidence_gets_ids_and_confidence_in_one_png(handler_and_context):
    handler, (model_dir, manifest) = handler_and_context
    context = torchserve_context(model_dir, manifest, 2)
    context.request_processor = [RequestProcessor({"x-roadseg-output": b"mask+confidence"}), RequestProcessor({})]
    outputs = handler.handle(
        [{"body": image_bytes("png-rgb", 90, 60)}, {"body": image_bytes("png-rgb", 90, 60)}], context
    )
    both, plain = (Image.open(io.BytesIO(output)) for output in outputs)
    assert both.mode == "LA" and both.size == (90, 60)
    ids, confidence = np.asarray(both).transpose(2, 0, 1)
    assert np.unique(ids).tolist() == [7] and np.unique(confidence).tolist() == [255]  # softmax ~1 everywhere
    assert plain.mode == "L" and np.array_equal(np.asarray(plain), ids)  # without the header: as before
