"""TorchServe handler: image bytes in, PNG of the 8 Cityscapes category ids (same width x height) out.

The archive carries `model_config.json` (registry name, builder kwargs, inference scale, limits) and the
weights as safetensors; the model definition itself comes from the installed `training` package.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from safetensors.torch import load_file
from ts.torch_handler.base_handler import BaseHandler

from handler.processing import PreparedImage, mask_png, prepare_image, run_model
from training.checkpoints import cast_floating, model_from_config
from training.image_io import DEFAULT_MAX_PIXELS

logger = logging.getLogger(__name__)
CONFIG_FILE = "model_config.json"


class SegmentationHandler(BaseHandler):
    def initialize(self, context) -> None:
        properties = context.system_properties
        model_dir = Path(properties["model_dir"])
        self.manifest = context.manifest
        self.config = json.loads((model_dir / CONFIG_FILE).read_text())
        gpu_id = properties.get("gpu_id")
        use_cuda = torch.cuda.is_available() and gpu_id is not None
        self.device = torch.device(f"cuda:{gpu_id}" if use_cuda else "cpu")
        state = load_file(model_dir / self.manifest["model"]["serializedFile"])
        self.model = model_from_config(self.config, cast_floating(state, torch.float32))
        self.model.to(self.device).eval()
        self.short_side = int(self.config["short_side"])
        self.max_pixels = int(self.config.get("max_pixels", DEFAULT_MAX_PIXELS))
        self.initialized = True
        logger.info("loaded %s %s on %s, short side %d", self.config["model"], self.config.get("model_kwargs"),
                    self.device, self.short_side)

    def preprocess(self, data: list[dict]) -> list[PreparedImage]:
        return [prepare_image(_request_bytes(row), self.short_side, self.max_pixels) for row in data]

    def inference(self, data: list[PreparedImage], *args, **kwargs) -> tuple[list[PreparedImage], list]:
        return data, run_model(self.model, data, self.device)

    def postprocess(self, data: tuple[list[PreparedImage], list]) -> list[bytes]:
        items, logits = data
        responses = []
        for index, (item, item_logits) in enumerate(zip(items, logits)):
            if item.error is not None:
                # Refuse this request alone; the rest of the batch still gets its masks.
                self.context.set_response_status(400, item.error, index)
                self.context.set_response_content_type(index, "application/json")
                responses.append(json.dumps({"code": 400, "type": "InvalidImage", "message": item.error}))
                continue
            self.context.set_response_content_type(index, "image/png")
            responses.append(mask_png(item_logits, item.size))
        return responses


def _request_bytes(row: dict) -> bytes:
    """The image bytes of a request: raw body, or the first multipart file field."""
    data = row.get("data") or row.get("body")
    if data is None and row:
        data = next(iter(row.values()))
    if isinstance(data, str):
        data = data.encode()
    return bytes(data or b"")
