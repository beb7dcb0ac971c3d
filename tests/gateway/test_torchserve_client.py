"""The gateway's TorchServe client: key handling and the mapping of TorchServe's answers to clear errors."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
import respx

from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, MANAGEMENT, make_client
from tests.images import image_bytes

REFUSED = {
    "code": 400,
    "type": "InvalidKeyException",
    "message": "Token Authorization failed. Token either incorrect, expired, or not provided correctly",
}
MASK = encode_png(np.ones((77, 101), np.uint8))
DESCRIBE = [{"modelName": "roadseg", "modelVersion": "1.0", "workers": [{"status": "READY"}]}]


def post_image(client, **params):
    return client.post("/predict", params=params, files={"file": ("x.png", image_bytes("png-rgb"))})


@respx.mock
def test_expired_key_is_regenerated_with_the_api_key_and_the_request_retried(tmp_path):
    key_file = tmp_path / "key_file.json"
    keys = {"inference": {"key": "old"}, "management": {"key": "m"}, "API": {"key": "api"}}
    key_file.write_text(json.dumps(keys))

    def regenerate(request):
        assert request.headers["authorization"] == "Bearer api"
        key_file.write_text(json.dumps({**keys, "inference": {"key": "new"}}))
        return httpx.Response(200)

    def predict(request):
        if request.headers.get("authorization") != "Bearer new":
            return httpx.Response(400, json=REFUSED)
        return httpx.Response(200, content=MASK, headers={"content-type": "image/png", "X-Model-Version": "1.0"})

    respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=predict)
    token = respx.get(f"{MANAGEMENT}/token", params={"type": "inference"}).mock(side_effect=regenerate)
    respx.get(f"{MANAGEMENT}/models/roadseg").mock(return_value=httpx.Response(200, json=DESCRIBE))
    with make_client(torchserve_key_file=key_file) as client:
        response = post_image(client)
    assert response.status_code == 200 and token.called


@pytest.mark.parametrize(
    ("torchserve", "status", "words"),
    [
        (
            httpx.Response(503, json={"message": "Model roadseg has no worker to serve inference request"}),
            503,
            "no worker",
        ),
        (httpx.Response(507, json={"message": "Out of resources"}), 503, "Out of resources"),
        (httpx.Response(500, json={"message": "Worker died."}), 502, "Worker died"),
        (httpx.Response(404, json={"message": "Model not found"}), 404, "not registered"),
        (httpx.Response(400, json=REFUSED), 503, "key was refused"),
        (httpx.Response(200, content=b"{}", headers={"content-type": "application/json"}), 502, "other than a PNG"),
        (
            httpx.Response(
                200,
                content=encode_png(np.ones((5, 5), np.uint8)),
                headers={"content-type": "image/png", "X-Model-Version": "1.0"},
            ),
            502,
            "5x5 mask for a 101x77 image",
        ),
    ],
)
@respx.mock
def test_torchserve_answers_map_to_clear_errors(torchserve, status, words):
    respx.post(f"{INFERENCE}/predictions/roadseg").mock(return_value=torchserve)
    respx.get(f"{MANAGEMENT}/models/roadseg").mock(return_value=httpx.Response(200, json=DESCRIBE))
    with make_client() as client:
        response = post_image(client)
    assert response.status_code == status and words in response.json()["message"], response.text


def test_slow_torchserve_gets_504_after_the_configured_timeout(silent_server):
    with make_client(torchserve_inference_url=silent_server, inference_timeout_s=1.0) as client:
        started = time.monotonic()
        response = post_image(client)
    assert response.status_code == 504 and "did not answer within 1 s" in response.json()["message"]
    assert time.monotonic() - started < 10


def test_torchserve_down_gets_503():
    with make_client(
        torchserve_inference_url="http://127.0.0.1:9", torchserve_management_url="http://127.0.0.1:9"
    ) as client:
        predict, health, models = post_image(client), client.get("/health"), client.get("/models")
        live = client.get("/health/live")
    for response in (predict, health, models):
        assert response.status_code == 503 and "not reachable" in response.json()["message"]
    assert live.status_code == 200 and live.json() == {"status": "ok"}  # liveness: the gateway itself is fine


@respx.mock
def test_health_is_503_while_no_worker_is_ready():
    starting = [{"modelName": "roadseg", "modelVersion": "1.0", "workers": [{"status": "UNLOADING"}]}]
    respx.get(f"{MANAGEMENT}/models/roadseg").mock(return_value=httpx.Response(200, json=starting))
    with make_client() as client:
        response = client.get("/health")
    assert response.status_code == 503 and "no worker ready" in response.json()["message"]


def test_unknown_route_is_json_404():
    with make_client() as client:
        response = client.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def mock_catalogue(listed: tuple[str, ...] = ("roadseg",)) -> respx.Route:
    """TorchServe's management API for roadseg, with versions 3.0 (the default) and 2.0, and any other `listed`
    model with version 1.0; returns the route of roadseg's default version's description."""
    respx.get(f"{MANAGEMENT}/models").mock(
        return_value=httpx.Response(200, json={"models": [{"modelName": name} for name in listed]})
    )
    for other in set(listed) - {"roadseg"}:
        entry = {"modelName": other, "modelVersion": "1.0", "modelUrl": f"{other}_v1.0.mar", "workers": []}
        respx.get(f"{MANAGEMENT}/models/{other}").mock(return_value=httpx.Response(200, json=[entry]))
        respx.get(f"{MANAGEMENT}/models/{other}/all").mock(return_value=httpx.Response(200, json=[entry]))
        respx.get(f"{MANAGEMENT}/models/{other}/1.0", params={"customized": "true"}).mock(
            return_value=httpx.Response(200, json=[{**entry, "customizedMetadata": "{}"}])
        )
    default = respx.get(f"{MANAGEMENT}/models/roadseg").mock(
        return_value=httpx.Response(200, json=[{"modelName": "roadseg", "modelVersion": "3.0"}])
    )
    versions = [
        {"modelName": "roadseg", "modelVersion": v, "modelUrl": f"roadseg_v{v}.mar", "batchSize": 4, "workers": []}
        for v in ("3.0", "2.0")
    ]
    respx.get(f"{MANAGEMENT}/models/roadseg/all").mock(return_value=httpx.Response(200, json=versions))
    for version, dataset in (("3.0", "cityscapes"), ("2.0", "camvid")):
        metadata = json.dumps({"dataset": dataset, "model": "vgg16_unet"})
        respx.get(f"{MANAGEMENT}/models/roadseg/{version}", params={"customized": "true"}).mock(
            return_value=httpx.Response(200, json=[{**versions[0], "customizedMetadata": metadata}])
        )
    return default


@respx.mock
def test_models_say_what_each_version_was_trained_on_and_the_default_is_cached_for_its_ttl(monkeypatch):
    default = mock_catalogue()
    now = [1000.0]
    monkeypatch.setattr("gateway.torchserve.management.time.monotonic", lambda: now[0])
    with make_client(version_cache_s=30) as client:
        first, second = client.get("/models").json(), client.get("/models").json()
        now[0] += 31
        client.get("/models")
    assert first == second
    [model] = first
    assert model["name"] == "roadseg" and model["default_version"] == "3.0"
    found = {v["version"]: (v["is_default"], v["details"]["dataset"]) for v in model["versions"]}
    assert found == {"3.0": (True, "cityscapes"), "2.0": (False, "camvid")}
    assert default.call_count == 2  # once for the first two listings, again after the TTL


@respx.mock
def test_models_list_the_gateway_s_default_model_first_and_mark_it():
    mock_catalogue(listed=("roadseg-rt", "roadseg"))
    with make_client() as client:
        models = client.get("/models").json()
    assert [(m["name"], m["is_default"], m["default_version"]) for m in models] == [
        ("roadseg", True, "3.0"),
        ("roadseg-rt", False, "1.0"),
    ]


@respx.mock
def test_an_answer_that_names_no_version_is_the_model_server_s_error():
    """The handler names the version that answered: a mask without it did not come from this project's handler."""
    respx.post(f"{INFERENCE}/predictions/roadseg").mock(
        return_value=httpx.Response(200, content=MASK, headers={"content-type": "image/png"})
    )
    with make_client() as client:
        response = post_image(client)
    assert response.status_code == 502 and response.json()["error"] == "model_server_error"
    assert "which version answered" in response.json()["message"]


def test_declared_oversized_body_is_refused_by_the_middleware_before_reading():
    """Only the middleware answers from the declared length alone, and closes the connection."""
    with make_client(max_upload_bytes=1000) as client:
        response = client.post(
            "/predict", content=b"x" * 100_000, headers={"content-type": "multipart/form-data; boundary=b"}
        )
    assert response.status_code == 413 and response.json()["error"] == "upload_too_large"
    assert response.headers["connection"] == "close"
