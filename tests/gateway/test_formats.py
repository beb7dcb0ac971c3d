"""POST /predict's confidence, json and rle formats, from a mocked TorchServe answering as the handler does."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import respx
from PIL import Image
from pycocotools import mask as coco_mask

from roadseg.categories import CATEGORIES
from roadseg.contract import MASK_AND_CONFIDENCE, OUTPUT_HEADER
from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, make_client
from tests.images import image_bytes

WIDTH, HEIGHT = 101, 77


def handler_mask() -> np.ndarray:
    """Ids as a handler would send them: flat below, sky above, a vehicle box; nature nowhere."""
    ids = np.full((HEIGHT, WIDTH), 5, np.uint8)
    ids[40:] = 1
    ids[50:60, 10:30] = 7
    return ids


def handler_confidence() -> np.ndarray:
    return np.tile(np.linspace(0, 255, WIDTH).round().astype(np.uint8), (HEIGHT, 1))


def mock_handler() -> respx.Route:
    """TorchServe: ids alone, or ids + confidence (LA) when the request carries the output header."""

    def answer(request: httpx.Request) -> httpx.Response:
        both = request.headers.get(OUTPUT_HEADER) == MASK_AND_CONFIDENCE
        png = encode_png(np.stack([handler_mask(), handler_confidence()], -1) if both else handler_mask())
        return httpx.Response(200, content=png, headers={"content-type": "image/png", "X-Model-Version": "2.0"})

    return respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=answer)


def post(client, format: str) -> httpx.Response:
    return client.post(f"/predict?format={format}", files={"file": ("road.png", image_bytes("png-rgb", WIDTH, HEIGHT))})


@respx.mock
def test_confidence_is_an_8_bit_png_of_the_handler_s_confidence_channel():
    route = mock_handler()
    with make_client() as client:
        response = post(client, "confidence")
    assert route.calls.last.request.headers[OUTPUT_HEADER] == MASK_AND_CONFIDENCE  # one inference gives both
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "L" and image.size == (WIDTH, HEIGHT)
    assert np.array_equal(np.asarray(image), handler_confidence())


@respx.mock
def test_raw_requests_do_not_ask_for_confidence_and_get_the_same_png_as_before():
    route = mock_handler()
    with make_client() as client:
        response = post(client, "raw")
    assert OUTPUT_HEADER not in route.calls.last.request.headers
    assert response.content == encode_png(handler_mask())


@respx.mock
def test_json_gives_each_category_s_pixels_and_share_with_model_and_timing():
    mock_handler()
    with make_client() as client:
        response = post(client, "json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["model"], body["version"], body["width"], body["height"]) == ("roadseg", "2.0", WIDTH, HEIGHT)
    assert body["inference_ms"] >= 0 and response.headers["x-model-version"] == "2.0"
    counts = np.bincount(handler_mask().ravel(), minlength=8)
    assert [c["name"] for c in body["categories"]] == [c.name for c in CATEGORIES]
    assert [c["pixels"] for c in body["categories"]] == counts.tolist()
    assert [c["pixels"] for c in body["categories"] if c["name"] == "vehicle"] == [200]
    assert sum(c["share"] for c in body["categories"]) == pytest.approx(1.0)


@respx.mock
def test_rle_decodes_with_pycocotools_to_each_category_s_mask():
    mock_handler()
    with make_client() as client:
        response = post(client, "rle")
    body = response.json()
    assert [m["id"] for m in body["masks"]] == [1, 5, 7]  # the categories present, in id order
    for entry in body["masks"]:
        assert entry["size"] == [HEIGHT, WIDTH]
        decoded = coco_mask.decode({"size": entry["size"], "counts": entry["counts"].encode()})
        assert np.array_equal(decoded.astype(bool), handler_mask() == entry["id"]), entry["name"]
        assert coco_mask.area({"size": entry["size"], "counts": entry["counts"].encode()}) == decoded.sum()


@respx.mock
def test_a_handler_without_confidence_support_is_a_clear_502():
    respx.post(f"{INFERENCE}/predictions/roadseg").mock(
        return_value=httpx.Response(
            200, content=encode_png(handler_mask()), headers={"content-type": "image/png", "X-Model-Version": "1.0"}
        )
    )
    with make_client() as client:
        response = post(client, "confidence")
    assert response.status_code == 502 and "no confidence" in response.json()["message"]
