"""End to end over real HTTP: gateway -> TorchServe -> custom handler -> PNG masks."""

from __future__ import annotations

import concurrent.futures as cf
import io
import re
import shutil
import socket
import subprocess
import time
import zipfile

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from gateway import admin
from roadseg.categories import CATEGORY_PALETTE
from stack.processes import BIN, REPO_ROOT, stop
from tests.images import UPRIGHT_SIZE, decompression_bomb, gradient_rgb, image_bytes
from tests.integration.conftest import MAX_UPLOAD_BYTES, RT_CATEGORY, V1_CATEGORY, V2_CATEGORY, key_file
from tests.videos import decoded_frames, write_clip

pytestmark = pytest.mark.integration

KINDS = [
    "png-rgb",
    "png-rgba",
    "png-gray",
    "png-palette",
    "png-16bit",
    "jpeg",
    "jpeg-cmyk",
    "jpeg-exif-rotated",
    "webp",
    "bmp",
    "tiff",
]


def png(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def assert_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"} and words in body["message"], body


@pytest.mark.parametrize("kind", KINDS)
def test_mask_png_has_the_input_size_and_category_ids(stack, kind):
    width, height = 101, 77
    with stack.client() as client:
        response = client.post("/predict", files={"file": (f"x.{kind}", image_bytes(kind, width, height))})
    mask = png(response)
    assert mask.mode == "L"
    assert mask.size == UPRIGHT_SIZE.get(kind, lambda w, h: (w, h))(width, height)
    assert np.unique(np.asarray(mask)).tolist() == [V1_CATEGORY]
    assert response.headers["x-model-name"] == "roadseg" and response.headers["x-model-version"] == "1.0"
    assert float(response.headers["x-inference-time-ms"]) > 0


@pytest.mark.parametrize("size", [(480, 360), (2048, 1024), (33, 517)])
def test_mask_size_follows_any_input_size(stack, size):
    with stack.client() as client:
        response = client.post("/predict", files={"file": ("x.png", image_bytes("png-rgb", *size))})
    assert png(response).size == size


def test_color_and_overlay_formats(stack):
    data = image_bytes("png-rgb", 64, 48)
    with stack.client() as client:
        color = png(client.post("/predict?format=color", files={"file": ("x.png", data)}))
        overlay = png(client.post("/predict?format=overlay&alpha=0.25", files={"file": ("x.png", data)}))
    assert color.mode == "RGB" and color.size == (64, 48)
    assert (np.asarray(color) == CATEGORY_PALETTE[V1_CATEGORY]).all()
    expected = 0.75 * gradient_rgb(64, 48).astype(float) + 0.25 * CATEGORY_PALETTE[V1_CATEGORY]
    assert overlay.mode == "RGB" and np.abs(np.asarray(overlay).astype(float) - expected).max() <= 1


def batch_sizes(stack) -> list[int]:
    """The batch sizes the handler logged so far (TorchServe's model_log)."""
    log = stack.workdir / "logs" / "model_log.log"
    text = log.read_text() if log.exists() else ""
    return [int(m) for m in re.findall(r"batch of (\d+) request", text)]


def test_concurrent_requests_are_batched_and_each_gets_its_own_mask(stack):
    sizes = [(64 + i, 48 + i) for i in range(8)]
    before = len(batch_sizes(stack))
    with httpx.Client(base_url=stack.url, timeout=60) as client, cf.ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda s: client.post("/predict", files={"file": ("x.png", image_bytes("png-rgb", *s))}), sizes)
        )
    assert [png(r).size for r in responses] == sizes
    deadline = time.monotonic() + 10  # the worker's log reaches the file shortly after the answers
    while sum(batch_sizes(stack)[before:]) < len(sizes) and time.monotonic() < deadline:
        time.sleep(0.2)
    batches = batch_sizes(stack)[before:]
    assert sum(batches) == len(sizes) and max(batches) > 1, f"batches formed: {batches}"


def test_models_lists_both_versions_and_version_routes(stack):
    with stack.client() as client:
        models = client.get("/models").json()
        assert [(m["name"], m["is_default"]) for m in models] == [("roadseg", True), ("roadseg-rt", False)]
        versions = {v["version"]: v for v in models[0]["versions"]}
        assert set(versions) == {"1.0", "2.0"} and versions["1.0"]["is_default"]
        assert versions["2.0"]["batch_size"] == 4 and versions["2.0"]["workers_ready"] == 1
        # What each archive's handler says of its model, through TorchServe's customized describe.
        assert versions["1.0"]["details"]["dataset"] == "fixture" and versions["1.0"]["details"]["runtime"] == "torch"
        assert versions["2.0"]["details"]["runtime"] == "onnxruntime" and versions["2.0"]["details"]["version"] == "2.0"
        data = image_bytes("png-rgb", 40, 30)
        for version, category in (("1.0", V1_CATEGORY), ("2.0", V2_CATEGORY)):
            response = client.post(f"/predict?version={version}", files={"file": ("x.png", data)})
            assert np.unique(np.asarray(png(response))).tolist() == [category]
            assert response.headers["x-model-version"] == version


def test_the_real_time_model_answers_under_its_own_name_beside_the_default(stack):
    with stack.client() as client:
        data = image_bytes("png-rgb", 101, 77)  # an odd size: DDRNet pads to 64 and crops back
        response = client.post("/predict?model=roadseg-rt", files={"file": ("x.png", data)})
        assert response.status_code == 200, response.text
        assert png(response).size == (101, 77) and np.unique(np.asarray(png(response))).tolist() == [RT_CATEGORY]
        assert (response.headers["x-model-name"], response.headers["x-model-version"]) == ("roadseg-rt", "1.0")
        default = client.post("/predict", files={"file": ("x.png", data)})
        assert default.headers["x-model-name"] == "roadseg"
        [realtime] = [m for m in client.get("/models").json() if m["name"] == "roadseg-rt"]
        assert realtime["versions"][0]["details"]["model"] == "ddrnet23_slim"
        missing = client.post("/predict?model=segformer", files={"file": ("x.png", data)})
        assert missing.status_code == 404 and "segformer" in missing.json()["message"]


def test_a_clip_goes_through_the_video_job_api_with_the_real_time_model(stack, tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4", frames=6, width=96, height=64, fps=10)
    with stack.client() as client:
        accepted = client.post(
            "/videos?masks=true&model=roadseg-rt", files={"file": ("dashcam.mp4", clip.read_bytes(), "video/mp4")}
        )
        assert accepted.status_code == 202, accepted.text
        deadline = time.monotonic() + 120
        while (job := client.get(accepted.headers["location"]).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert (job["status"], job["model"], job["frames_done"]) == ("done", "roadseg-rt", 6), job
        masks = client.get(job["masks_url"])
    with zipfile.ZipFile(io.BytesIO(masks.content)) as archive:
        assert {int(np.asarray(Image.open(io.BytesIO(archive.read(n)))).max()) for n in archive.namelist()} == {
            RT_CATEGORY
        }


def test_torchserve_runs_each_version_with_its_archived_runtime(stack):
    with stack.client() as client:
        for version in ("1.0", "2.0"):  # both workers are up once each has answered
            assert (
                client.post(
                    f"/predict?version={version}", files={"file": ("x.png", image_bytes("png-rgb"))}
                ).status_code
                == 200
            )
    log = (stack.workdir / "logs" / "model_log.log").read_text()
    runtimes = re.findall(r"W-\d+-roadseg_(\S+?)-stdout.*?loaded unet_mini .*?: runtime (\w+)", log)
    assert set(runtimes) == {("1.0", "torch"), ("2.0", "onnxruntime")}, runtimes


def test_torchserve_s_grpc_ports_follow_the_given_ones_so_a_second_instance_fits_beside_make_run(stack):
    for port in (stack.ports.grpc_inference, stack.ports.grpc_management):
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening on the port this instance was given, not on TorchServe's fixed 7070/7071
    assert {stack.ports.grpc_inference, stack.ports.grpc_management}.isdisjoint({7070, 7071})


def test_confidence_json_and_rle_come_from_the_real_handler(stack):
    """The constant models are sure of their one category everywhere: confidence 255, share 1, one RLE."""
    data = image_bytes("png-rgb", 90, 60)
    with stack.client() as client:
        answers = {
            f: client.post(f"/predict?format={f}&version=2.0", files={"file": ("x.png", data)})
            for f in ("confidence", "json", "rle", "raw")
        }
    assert all(r.status_code == 200 for r in answers.values()), {f: r.text[:200] for f, r in answers.items()}
    confidence = Image.open(io.BytesIO(answers["confidence"].content))
    assert confidence.mode == "L" and confidence.size == (90, 60)
    assert np.unique(np.asarray(confidence)).tolist() == [255]
    assert Image.open(io.BytesIO(answers["raw"].content)).mode == "L"  # raw answers are unchanged
    shares = {c["id"]: c["share"] for c in answers["json"].json()["categories"]}
    assert shares[V2_CATEGORY] == 1.0 and sum(shares.values()) == 1.0
    assert answers["json"].json()["version"] == "2.0"
    (entry,) = answers["rle"].json()["masks"]
    rle = {"size": entry["size"], "counts": entry["counts"].encode()}
    assert entry["id"] == V2_CATEGORY and coco_mask.decode(rle).all() and coco_mask.area(rle) == 90 * 60


def test_a_clip_goes_through_the_video_job_api_over_real_torchserve(stack, tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4", frames=12, width=96, height=64, fps=10)
    model_log = stack.workdir / "logs" / "model_log.log"
    log_before = len(model_log.read_text())
    with stack.client() as client:
        accepted = client.post(
            "/videos?masks=true&version=1.0", files={"file": ("dashcam.mp4", clip.read_bytes(), "video/mp4")}
        )
        assert accepted.status_code == 202, accepted.text
        url = accepted.headers["location"]
        deadline = time.monotonic() + 120
        while (job := client.get(url).json())["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job["status"] == "done", job
        video, masks = client.get(job["video_url"]), client.get(job["masks_url"])
    assert (job["frames_done"], job["width"], job["height"], job["version"]) == (12, 96, 64, "1.0")
    batches = [int(n) for n in re.findall(r"batch of (\d+) request", model_log.read_text()[log_before:])]
    assert sum(batches) >= 12 and max(batches) > 1, batches  # frames in flight together share batches
    (tmp_path / "overlay.mp4").write_bytes(video.content)
    frames = decoded_frames(tmp_path / "overlay.mp4")
    assert len(frames) == 12 and {f.shape for f in frames} == {(64, 96, 3)}
    with zipfile.ZipFile(io.BytesIO(masks.content)) as archive:
        assert len(archive.namelist()) == 12
        assert {int(np.asarray(Image.open(io.BytesIO(archive.read(n)))).max()) for n in archive.namelist()} == {
            V1_CATEGORY
        }


def test_torchserve_s_jvm_runs_with_the_configured_heap_bound(stack):
    """config.properties' vmargs reach the frontend's JVM: a bounded heap, and exit on exhaustion."""
    java = [p for p in psutil.Process(stack.torchserve.pid).children(recursive=True) if p.name() == "java"]
    assert len(java) == 1
    assert {"-Xmx512m", "-XX:+ExitOnOutOfMemoryError"} <= set(java[0].cmdline())


def test_admin_set_default_changes_the_answering_version(stack):
    data = image_bytes("png-rgb", 40, 30)
    admin.main(["set-default", "roadseg", "2.0"], stack.settings)
    try:
        with stack.client() as client:
            response = client.post("/predict", files={"file": ("x.png", data)})
            assert np.unique(np.asarray(png(response))).tolist() == [V2_CATEGORY]
            assert response.headers["x-model-version"] == "2.0"
    finally:
        admin.main(["set-default", "roadseg", "1.0"], stack.settings)


def test_docs_and_openapi_document_every_endpoint(stack):
    with stack.client() as client:
        assert client.get("/docs").status_code == 200
        spec = client.get("/openapi.json").json()
    assert {"/predict", "/health", "/categories", "/models"} <= set(spec["paths"])
    responses = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415", "422", "503", "504"} <= set(responses)


def test_categories(stack):
    with stack.client() as client:
        categories = client.get("/categories").json()
    assert [c["name"] for c in categories][:2] == ["void", "flat"] and categories[7]["color"] == [0, 0, 142]


@pytest.mark.parametrize(
    ("upload", "status", "words"),
    [
        (("x.png", b""), 400, "empty"),
        (("notes.txt", b"these are not pixels"), 415, "not an image"),
        (("x.png", image_bytes("png-rgb", 200, 150)[:300]), 400, "truncated"),
        (("bomb.png", decompression_bomb()), 413, "900,000,000 pixels"),
        (("wide.png", image_bytes("png-rgb", 3000, 2000)), 413, "the limit is 5,000,000 pixels"),
        (("big.png", b"\x89PNG" + b"\x00" * (MAX_UPLOAD_BYTES + 10)), 413, "larger than the 4 MiB limit"),
    ],
)
def test_bad_uploads_get_a_clear_json_error(stack, upload, status, words):
    with stack.client() as client:
        assert_error(client.post("/predict", files={"file": upload}), status, words)


def test_wrong_field_name_is_422(stack):
    with stack.client() as client:
        assert_error(
            client.post("/predict", files={"image": ("x.png", image_bytes("png-rgb"))}), 422, "field named 'file'"
        )


def test_unknown_version_is_404(stack):
    with stack.client() as client:
        assert_error(
            client.post("/predict?version=9.9", files={"file": ("x.png", image_bytes("png-rgb"))}),
            404,
            "version '9.9' is not registered",
        )


def test_a_rotated_key_is_picked_up_from_the_key_file(stack):
    before = key_file(stack)["inference"]["key"]
    httpx.get(
        f"{stack.settings.torchserve_management_url}/token",
        params={"type": "inference"},
        headers={"Authorization": f"Bearer {key_file(stack)['API']['key']}"},
    ).raise_for_status()
    assert key_file(stack)["inference"]["key"] != before
    with stack.client() as client:
        assert client.post("/predict", files={"file": ("x.png", image_bytes("png-rgb"))}).status_code == 200


def test_torchserve_loads_archives_by_url_from_its_model_store_only(stack):
    outside = stack.workdir / "elsewhere.mar"
    shutil.copyfile(stack.store / "roadseg_v1.mar", outside)
    response = httpx.post(
        f"{stack.settings.torchserve_management_url}/models",
        params={"url": f"file://{outside}", "model_name": "elsewhere"},
        headers={"Authorization": f"Bearer {key_file(stack)['management']['key']}"},
        timeout=60,
    )
    assert response.status_code in (400, 404) and "allowed" in response.text.lower(), response.text
    with stack.client() as client:
        assert [m["name"] for m in client.get("/models").json()] == ["roadseg", "roadseg-rt"]


def test_torchserve_does_not_publish_its_apis_without_a_key(stack):
    inference = stack.settings.torchserve_inference_url
    assert httpx.post(f"{inference}/predictions/roadseg", content=image_bytes("png-rgb")).status_code in (400, 401)
    assert httpx.get(f"{stack.settings.torchserve_management_url}/models").status_code in (400, 401)


def test_declared_oversized_upload_is_refused_before_it_is_read(stack):
    """Headers declaring a huge body, then silence: only the early check can answer (the body never comes)."""
    host, port = stack.url.removeprefix("http://").split(":")
    declared = MAX_UPLOAD_BYTES * 4
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head + b"--b\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"larger than the 4 MiB limit" in rest and b"connection: close" in rest.lower()


def test_torchserve_refuses_images_over_the_shared_pixel_limit_too(stack):
    """ROADSEG_MAX_PIXELS reaches the handler: called directly, TorchServe refuses what the gateway refuses."""
    data = image_bytes("png-rgb", 3000, 2000)  # 6 M pixels > 5 M
    token = key_file(stack)["inference"]["key"]
    response = httpx.post(
        f"{stack.settings.torchserve_inference_url}/predictions/roadseg",
        content=data,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 400 and "the limit is 5,000,000 pixels" in response.text


def test_a_schema_driven_fuzzer_finds_no_failure_with_all_its_checks(stack):
    """Schemathesis, from the gateway's own OpenAPI schema, against the real gateway and TorchServe.
    schemathesis.toml (read from the repository root) says which answers schema-valid non-images get."""
    command = [str(BIN / "schemathesis"), "run", f"{stack.url}/openapi.json", "--checks", "all"]
    command += ["--max-examples", "25", "--seed", "1", "--no-color"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]


def test_health_is_green_then_503_when_torchserve_stops(stack):
    # Last: it stops TorchServe (the package's stack; test_serving is the last module to use it).
    with stack.client() as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["version"] == "1.0"
        stop(stack.torchserve)
        assert_error(client.get("/health"), 503, "not reachable")
        assert_error(client.post("/predict", files={"file": ("x.png", image_bytes("png-rgb"))}), 503, "not reachable")
