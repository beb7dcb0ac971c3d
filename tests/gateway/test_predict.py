"""POST /predict's own checks: what the gateway refuses from the header alone, and what it leaves to the handler."""

from __future__ import annotations

import httpx
import pytest
import respx

from segmenter.segmenter import prepare_image
from tests.gateway.conftest import INFERENCE, MANAGEMENT, make_client
from tests.images import image_bytes

TRUNCATED = image_bytes("png-rgb", 200, 150)[:300]


@respx.mock
def test_a_truncated_image_is_refused_by_the_handler_with_the_same_json_error():
    message = prepare_image(TRUNCATED, 64).error  # what the handler answers for it
    assert message and "truncated" in message
    route = respx.post(f"{INFERENCE}/predictions/roadseg").mock(
        return_value=httpx.Response(400, json={"code": 400, "type": "InvalidImage", "message": message})
    )
    with make_client() as client:
        response = client.post("/predict", files={"file": ("x.png", TRUNCATED)})
    assert route.called  # the gateway read the header only; the handler decoded the pixels
    assert response.status_code == 400 and response.json() == {"error": "invalid_image", "message": message}


@respx.mock
def test_an_overlay_decodes_the_pixels_in_the_gateway_and_refuses_truncation_itself():
    route = respx.post(f"{INFERENCE}/predictions/roadseg")
    with make_client() as client:
        response = client.post("/predict?format=overlay", files={"file": ("x.png", TRUNCATED)})
    assert not route.called
    assert response.status_code == 400 and response.json()["error"] == "invalid_image"
    assert "truncated" in response.json()["message"]


@pytest.mark.parametrize(
    ("upload", "status", "error"),
    [
        (b"", 400, "invalid_image"),
        (b"these are not pixels", 415, "unsupported_image"),
        (image_bytes("png-rgb", 3000, 2000), 413, "too_many_pixels"),
    ],
)
@respx.mock
def test_header_checks_refuse_before_the_model_server_is_called(upload, status, error):
    route = respx.post(f"{INFERENCE}/predictions/roadseg")
    respx.get(f"{MANAGEMENT}/models/roadseg")
    with make_client(max_pixels=5_000_000) as client:
        response = client.post("/predict", files={"file": ("x.png", upload)})
    assert not route.called
    assert response.status_code == status and response.json()["error"] == error


def test_the_schema_says_the_file_must_not_be_empty_and_documents_every_error():
    with make_client() as client:
        spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/predict"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    file = spec["components"]["schemas"][body]["properties"]["file"]
    assert file["minLength"] == 1 and "required" in spec["components"]["schemas"][body]
    assert {"400", "404", "413", "415", "422", "502", "503", "504"} <= set(operation["responses"])
    assert "Retry-After" in operation["responses"]["503"]["description"]
