"""TorchServe handler: image bytes in, PNG of the 8 Cityscapes category ids (same width x height) out.

A thin adapter over `segmenter.Segmenter`, which loads the archive's model (`model_config.json` names the
registry model, its inference scale, runtime and precision) and does the work; this module only speaks
TorchServe: its four steps, per-request errors, headers. The worker's intra-op threads share the machine's
cores with the other workers. The pixel limit is ROADSEG_MAX_PIXELS, shared with the gateway
(`roadseg.limits`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from ts.context import Context
from ts.torch_handler.base_handler import BaseHandler

from handler.responses import mask_png
from roadseg.contract import MASK_AND_CONFIDENCE, MODEL_VERSION_HEADER, OUTPUT_HEADER
from roadseg.limits import max_pixels
from segmenter.onnx_model import cpu_threads
from segmenter.segmenter import PreparedImage, Segmenter

logger = logging.getLogger(__name__)
# What inference hands to postprocess: the prepared requests and, per request, its logits (None if refused).
Batch = tuple[list[PreparedImage], list[torch.Tensor | None]]


class SegmentationHandler(BaseHandler):
    def initialize(self, context: Context) -> None:
        properties = context.system_properties
        self.manifest = context.manifest
        gpu_id = properties.get("gpu_id")
        workers = int((getattr(context, "model_yaml_config", None) or {}).get("minWorkers", 1))
        threads = max(1, cpu_threads() // max(1, workers))
        torch.set_num_threads(threads)
        device = f"cuda:{gpu_id}" if torch.cuda.is_available() and gpu_id is not None else "cpu"
        self.segmenter = Segmenter.load(Path(properties["model_dir"]), threads, device)
        self.max_pixels = max_pixels()
        self.initialized = True
        logger.info(
            "loaded %s with %d threads, short side %d, at most %d pixels",
            self.segmenter.describe(),
            threads,
            self.segmenter.short_side,
            self.max_pixels,
        )

    def describe_handle(self) -> str:
        """What TorchServe's `GET /models/{name}/{version}?customized=true` shows (the gateway's /models): the
        model's config, the dataset it was trained on included, and how it runs here."""
        config = self.segmenter.config
        return json.dumps(
            {**config.to_dict(), "runtime": self.segmenter.runtime, "precision": self.segmenter.precision}
        )

    def preprocess(self, data: list[dict[str, Any]]) -> list[PreparedImage]:
        return [self.segmenter.prepare(_request_bytes(row), self.max_pixels) for row in data]

    def inference(self, data: list[PreparedImage], *args: Any, **kwargs: Any) -> Batch:
        logger.info("batch of %d request(s)", len(data))  # TorchServe's model_log: shows batches forming
        return data, self.segmenter.logits(data)

    def postprocess(self, data: Batch) -> list[bytes | str]:
        items, logits = data
        responses: list[bytes | str] = []
        for index, (item, item_logits) in enumerate(zip(items, logits, strict=True)):
            if item.error is not None or item_logits is None:
                # Refuse this request alone; the rest of the batch still gets its masks.
                message = item.error or "the image could not be read"
                self.context.set_response_status(400, message, index)
                self.context.set_response_content_type(index, "application/json")
                responses.append(json.dumps({"code": 400, "type": "InvalidImage", "message": message}))
                continue
            self.context.set_response_content_type(index, "image/png")
            # The version that really answered: the gateway's X-Model-Version, right even just after set-default.
            self.context.set_response_header(index, MODEL_VERSION_HEADER, self.segmenter.config.version or "")
            responses.append(mask_png(item_logits, item.size, self._asks_confidence(index)))
        return responses

    def _asks_confidence(self, index: int) -> bool:
        """Whether request `index` asked for the confidence beside the ids (OUTPUT_HEADER, in any case)."""
        headers = self.context.get_all_request_header(index) or {}
        value = next((v for k, v in headers.items() if str(k).lower() == OUTPUT_HEADER.lower()), None)
        return value is not None and (value.decode() if isinstance(value, bytes) else str(value)) == MASK_AND_CONFIDENCE


def _request_bytes(row: dict[str, Any]) -> bytes:
    """The image bytes of a request: raw body, or the first multipart file field."""
    data = row.get("data") or row.get("body")
    if data is None and row:
        data = next(iter(row.values()))
    if isinstance(data, str):
        data = data.encode()
    return bytes(data or b"")
