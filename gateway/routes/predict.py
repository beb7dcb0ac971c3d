"""POST /predict: image in; PNG mask out (category ids, colours, overlay or confidence), or JSON (category
shares, or COCO RLE per category)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.deps import ModelServerDep, SettingsDep
from gateway.errors import GatewayError
from gateway.model_server import ModelServerFailure, Prediction, model_server_error
from gateway.rendering import colour_png, mask_and_confidence, mask_size, overlay_png
from gateway.results import SegmentationRle, SegmentationSummary, category_rles, category_shares
from gateway.routes.params import ModelName, ModelVersion, error_docs
from gateway.uploads import read_upload
from roadseg.images import (
    ImageDecodeError,
    ImageTooLargeError,
    UnsupportedImageError,
    encode_png,
    inspect_image,
    open_image,
    rgb_array,
    upright_size,
)
from roadseg.masks import mask_ids

router = APIRouter(tags=["segmentation"])


class MaskFormat(StrEnum):
    raw = "raw"
    color = "color"
    overlay = "overlay"
    confidence = "confidence"
    json = "json"
    rle = "rle"


JSON_FORMATS = (MaskFormat.json, MaskFormat.rle)


PREDICT_ERRORS = {
    400: "Empty, truncated or corrupt image.",
    404: "Unknown model or version.",
    413: "Upload larger than the byte limit, or image with more pixels than allowed.",
    415: "Not an image format the service reads (PNG, JPEG, WebP, BMP, TIFF).",
    422: "Malformed request, e.g. no multipart field named 'file'.",
    502: "The model server answered with an error.",
    503: "The model server is down, restarting or overloaded, or the gateway is at capacity; retry after "
    "the Retry-After header's seconds.",
    504: "The model server did not answer within the configured timeout.",
}


def check_image(data: bytes, max_pixels: int, need_pixels: bool) -> tuple[tuple[int, int], np.ndarray | None]:
    """((width, height), RGB when `need_pixels`). Format and size come from the header; the pixels are decoded
    only when needed (the overlay): the handler decodes them anyway, and refuses truncated data with a 400."""
    try:
        image = open_image(data, max_pixels) if need_pixels else inspect_image(data, max_pixels)
    except ImageTooLargeError as error:
        raise GatewayError(413, "too_many_pixels", str(error)) from None
    except UnsupportedImageError as error:
        raise GatewayError(415, "unsupported_image", str(error)) from None
    except ImageDecodeError as error:
        raise GatewayError(400, "invalid_image", str(error)) from None
    rgb = rgb_array(image) if need_pixels else None
    size = (rgb.shape[1], rgb.shape[0]) if rgb is not None else upright_size(image)
    return size, rgb


@router.post(
    "/predict",
    response_class=Response,
    response_model=None,
    summary="Segment a road image into the 8 Cityscapes categories",
    responses={
        200: {
            "content": {"image/png": {}, "application/json": {}},
            "description": "PNG of the input's width and height. raw: 8-bit, "
            "pixel = category id 0..7 (GET /categories); color: RGB category colours; overlay: input + colours; "
            "confidence: 8-bit, the model's highest softmax probability per pixel (0..255 for 0..1). "
            "JSON: json: each category's pixels and share, the model, version and inference time; rle: COCO "
            "compressed RLE per category present (pycocotools.mask.decode). "
            "Headers: X-Model-Name, X-Model-Version, X-Inference-Time-Ms.",
            "model": SegmentationSummary | SegmentationRle,
        },
        **error_docs(PREDICT_ERRORS, 400, 404, 413, 415, 422, 502, 503, 504),
    },
)
async def predict(
    file: Annotated[
        UploadFile,
        File(
            description="the image: PNG, JPEG, WebP, BMP or TIFF, any colour mode; not empty",
            json_schema_extra={"minLength": 1},
        ),
    ],
    settings: SettingsDep,
    model_server: ModelServerDep,
    format: Annotated[
        MaskFormat,
        Query(description="raw category ids, color, overlay, confidence (PNGs); json (shares) or rle (COCO RLE)"),
    ] = MaskFormat.raw,
    alpha: Annotated[float, Query(ge=0.0, le=1.0, description="overlay: weight of the colours")] = 0.5,
    model: ModelName = None,
    version: ModelVersion = None,
) -> Response:
    data = await read_upload(file, settings.max_upload_bytes)
    if format is MaskFormat.overlay:
        (width, height), rgb = await run_in_threadpool(check_image, data, settings.max_pixels, True)
    else:
        (width, height), rgb = check_image(data, settings.max_pixels, False)  # the header only: no thread hop
    with_confidence = format is MaskFormat.confidence
    prediction = await model_server.predict(data, model or settings.model_name, version, with_confidence)
    ids: np.ndarray | None = None
    confidence: np.ndarray | None = None
    if with_confidence:
        ids, confidence = await run_in_threadpool(mask_and_confidence, prediction.png)
    elif format is not MaskFormat.raw:
        ids = await run_in_threadpool(mask_ids, prediction.png)
    mask_width, mask_height = mask_size(prediction.png) if ids is None else (ids.shape[1], ids.shape[0])
    if (mask_width, mask_height) != (width, height):
        raise model_server_error(
            ModelServerFailure.failed,
            f"the model server returned a {mask_width}x{mask_height} mask for a {width}x{height} image",
        )
    if format in JSON_FORMATS:
        assert ids is not None
        common = {
            "model": prediction.model,
            "version": prediction.version,
            "inference_ms": round(prediction.inference_ms, 1),
            "width": width,
            "height": height,
        }
        result: SegmentationSummary | SegmentationRle
        if format is MaskFormat.json:
            result = SegmentationSummary(**common, categories=category_shares(ids))
        else:
            result = SegmentationRle(**common, masks=await run_in_threadpool(category_rles, ids))
        return JSONResponse(result.model_dump(mode="json"), headers=_model_headers(prediction))
    if format is MaskFormat.confidence:
        assert confidence is not None
        png = await run_in_threadpool(encode_png, confidence)
    elif format is MaskFormat.color:
        assert ids is not None
        png = await run_in_threadpool(colour_png, ids)
    elif format is MaskFormat.overlay:
        assert rgb is not None and ids is not None  # check_image decoded the pixels for an overlay
        png = await run_in_threadpool(overlay_png, rgb, ids, alpha)
    else:
        png = prediction.png
    stem = PurePath(file.filename or "image").stem or "image"
    headers = {**_model_headers(prediction), "Content-Disposition": f'inline; filename="{stem}_{format.value}.png"'}
    # The whole PNG in one body: a StreamingResponse over BytesIO sends it line by line (on its newline bytes),
    # each piece through a worker thread.
    return Response(png, media_type="image/png", headers=headers)


def _model_headers(prediction: Prediction) -> dict[str, str]:
    return {
        "X-Model-Name": prediction.model,
        "X-Model-Version": prediction.version,
        "X-Inference-Time-Ms": f"{prediction.inference_ms:.1f}",
    }
