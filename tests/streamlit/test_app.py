"""The page, driven by Streamlit's AppTest against a fake gateway (respx)."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import respx
from streamlit.testing.v1 import AppTest

from roadseg.categories import CATEGORIES
from roadseg.images import encode_png
from roadseg.media import IMAGE_EXTENSIONS
from tests.images import image_bytes
from tests.streamlit.conftest import APP_FILE
from tests.videos import write_clip

GATEWAY = "http://gateway.test"
CATEGORY_JSON = [{"id": c.id, "name": c.name, "color": list(c.color)} for c in CATEGORIES]
ONE_VERSION = [
    {
        "name": "roadseg",
        "is_default": True,
        "default_version": "1.0",
        "versions": [
            {
                "version": "1.0",
                "is_default": True,
                "archive": "roadseg.mar",
                "batch_size": 4,
                "workers": 1,
                "workers_ready": 1,
            }
        ],
    }
]
TWO_VERSIONS = [
    {
        **ONE_VERSION[0],
        "versions": ONE_VERSION[0]["versions"]
        + [
            {
                "version": "2.0",
                "is_default": False,
                "archive": "roadseg_v2.mar",
                "batch_size": 4,
                "workers": 1,
                "workers_ready": 1,
                "details": {"dataset": "cityscapes", "model": "vgg16_unet"},
            }
        ],
    }
]


# The VGG16 U-Net and the real-time model beside it (a version of each).
TWO_MODELS = [
    *ONE_VERSION,
    {
        "name": "roadseg-rt",
        "is_default": False,
        "default_version": "1.0",
        "versions": [
            {
                "version": "1.0",
                "is_default": True,
                "archive": "roadseg-rt_v1.0.mar",
                "batch_size": 4,
                "workers": 1,
                "workers_ready": 1,
                "details": {"dataset": "cityscapes", "model": "ddrnet23_slim"},
            }
        ],
    },
]


def mask_for(request: httpx.Request) -> httpx.Response:
    """A fake /predict: top half sky, bottom half flat, at the uploaded image's size."""
    from PIL import Image

    body = request.content
    start = body.index(b"\r\n\r\n") + 4
    image = Image.open(io.BytesIO(body[start:]))
    width, height = image.size
    ids = np.full((height, width), 1, np.uint8)
    version = request.url.params.get("version", "1.0")
    if version == "1.0":
        ids[: height // 2] = 5  # version 2.0 sees flat everywhere
    if request.url.params.get("format") == "confidence":
        ids = np.full((height, width), 200, np.uint8)
    return httpx.Response(
        200,
        content=encode_png(ids),
        headers={
            "content-type": "image/png",
            "x-model-name": "roadseg",
            "x-model-version": version,
            "x-inference-time-ms": "42.0",
        },
    )


@pytest.fixture
def gateway(monkeypatch):
    monkeypatch.setenv("API_URL", GATEWAY + "/predict")  # the original deployment's form
    with respx.mock(base_url=GATEWAY, assert_all_called=False) as mock:
        mock.get("/categories").respond(json=CATEGORY_JSON)
        mock.get("/models").respond(json=ONE_VERSION)
        mock.post("/predict").mock(side_effect=mask_for)
        yield mock


def calls(gateway: respx.MockRouter) -> list[str]:
    """Every request the page sent to the gateway, in order."""
    return [f"{call.request.method} {call.request.url.path}" for call in gateway.calls]


def run_app() -> AppTest:
    app = AppTest.from_file(str(APP_FILE), default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def test_sample_image_is_segmented_and_shown(gateway):
    app = run_app()
    app.radio(key="source").set_value("Sample").run()
    assert not app.exception
    assert [m.value for m in app.metric] == ["roadseg", "1.0", "42 ms"]
    assert len(app.get("image")) == 3  # original, mask, overlay
    assert len(app.get("vega_lite_chart")) == 1  # category shares
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Download mask (category ids, PNG)", "Download colour mask (PNG)"]
    assert calls(gateway) == ["GET /categories", "GET /models", "POST /predict"]  # two page runs, one of each


def test_uploaded_image_is_segmented_once_across_reruns(gateway):
    app = run_app()
    app.file_uploader(key="single_upload").set_value(("road.png", image_bytes("png-rgb", 64, 48), "image/png")).run()
    assert not app.exception and not app.error
    assert [m.value for m in app.metric][:2] == ["roadseg", "1.0"]
    app.slider(key="opacity").set_value(0.8).run()  # a slider change reuses the mask and the service info
    app.slider(key="opacity").set_value(0.3).run()
    assert calls(gateway) == ["GET /categories", "GET /models", "POST /predict"]


def test_gateway_down_shows_a_message_and_the_page_recovers(gateway):
    gateway.get("/categories").mock(side_effect=httpx.ConnectError("refused"))
    app = run_app()
    assert "not reachable" in app.error[0].value and "Is the gateway running?" in app.error[0].value
    gateway.get("/categories").respond(json=CATEGORY_JSON)
    app.button(key="retry").click().run()
    assert not app.error and not app.exception


def test_rejected_file_shows_the_gateway_message(gateway):
    gateway.post("/predict").respond(415, json={"error": "unsupported_image", "message": "the file is not an image"})
    app = run_app()
    app.file_uploader(key="single_upload").set_value(("notes.png", b"not pixels", "image/png")).run()
    assert not app.exception
    assert app.error[0].value == "The segmentation service refused 'notes.png': the file is not an image"


def test_slow_gateway_shows_a_timeout_message(gateway):
    gateway.post("/predict").mock(side_effect=httpx.ReadTimeout("slow"))
    app = run_app()
    app.radio(key="source").set_value("Sample").run()
    assert not app.exception and "did not answer" in app.error[0].value


def test_version_can_be_chosen_when_several_are_registered(gateway):
    gateway.get("/models").respond(json=TWO_VERSIONS)
    app = run_app()
    choice = app.selectbox(key="model_version")
    assert choice.options == ["roadseg 1.0 (default)", "roadseg 2.0 (cityscapes)"]
    choice.set_value(1)
    app.radio(key="source").set_value("Sample").run()
    assert [m.value for m in app.metric][1] == "2.0"
    assert gateway.routes[2].calls.last.request.url.params["version"] == "2.0"
    assert calls(gateway) == ["GET /categories", "GET /models", "POST /predict"]


def test_refresh_fetches_the_model_list_again(gateway):
    app = run_app()
    assert not app.selectbox  # one version: no choice
    gateway.get("/models").respond(json=TWO_VERSIONS)
    app.run()
    assert not app.selectbox  # still this session's list
    app.button(key="refresh_models").click().run()
    options = app.selectbox(key="model_version").options
    assert not app.exception and options == ["roadseg 1.0 (default)", "roadseg 2.0 (cityscapes)"]
    assert calls(gateway) == ["GET /categories", "GET /models", "GET /categories", "GET /models"]


def test_batch_segments_several_images_into_one_zip(gateway):
    app = run_app()
    files = [
        ("a.png", image_bytes("png-rgb", 40, 30), "image/png"),
        ("b.jpg", image_bytes("jpeg", 50, 20), "image/jpeg"),
        ("a.png", image_bytes("png-gray", 30, 30), "image/png"),
    ]
    app.file_uploader(key="batch_upload").set_value(files).run()
    app.button(key="segment_all").click().run()
    assert not app.exception
    assert "3 mask(s) ready" in app.success[0].value
    assert [b.label for b in app.get("download_button") if b.label.endswith("(ZIP)")] == ["Download all masks (ZIP)"]
    assert calls(gateway) == ["GET /categories", "GET /models"] + ["POST /predict"] * 3


def test_confidence_is_shown_on_request_only(gateway):
    app = run_app()
    app.radio(key="source").set_value("Sample").run()
    assert len(app.get("image")) == 3
    app.toggle(key="show_confidence").set_value(True).run()
    assert not app.exception and len(app.get("image")) == 4
    assert "mean 78%" in app.get("image")[3].proto.imgs[0].caption  # 200 / 255
    formats = [c.request.url.params.get("format") for c in gateway.calls if c.request.url.path == "/predict"]
    assert formats == ["raw", "confidence"]


def test_category_toggles_limit_the_mask_and_overlay(gateway):
    app = run_app()
    app.radio(key="source").set_value("Sample").run()
    app.multiselect(key="shown_categories").set_value(["flat"]).run()
    assert not app.exception
    captions = [image.proto.imgs[0].caption for image in app.get("image")]
    assert "Mask (1 categories)" in captions
    assert calls(gateway).count("POST /predict") == 1  # toggles re-render, they do not segment again


def test_compare_tab_shows_two_versions_side_by_side_with_shares_and_times(gateway):
    gateway.get("/models").respond(json=TWO_VERSIONS)
    app = run_app()
    app.radio(key="compare_source").set_value("Sample").run()
    assert not app.exception and not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert (
        metrics["roadseg 1.0: inference time"] == "42 ms"
        and metrics["roadseg 2.0 (cityscapes): inference time"] == "42 ms"
    )
    table = app.dataframe[0].value
    assert table.loc["sky", "roadseg 1.0"] == 50.0 and table.loc["sky", "roadseg 2.0 (cityscapes)"] == 0.0
    assert table.loc["flat", "B - A (points)"] == 50.0
    versions = [c.request.url.params.get("version") for c in gateway.calls if c.request.url.path == "/predict"]
    assert versions == ["1.0", "2.0"]


def test_the_real_time_model_can_be_chosen_and_is_compared_with_the_default_model(gateway):
    gateway.get("/models").respond(json=TWO_MODELS)
    app = run_app()
    choice = app.selectbox(key="model_version")
    assert choice.options == ["roadseg 1.0 (default)", "roadseg-rt 1.0 (cityscapes)"] and choice.index == 0
    assert [app.selectbox(key=f"compare_{i}").index for i in (0, 1)] == [0, 1]  # A the default, B the other model
    app.radio(key="compare_source").set_value("Sample").run()
    assert not app.exception and not app.error
    asked = [(c.request.url.params.get("model"), c.request.url.params.get("version")) for c in gateway.calls]
    assert asked[-2:] == [("roadseg", "1.0"), ("roadseg-rt", "1.0")]
    choice.set_value(1)
    app.radio(key="source").set_value("Sample").run()
    assert gateway.calls.last.request.url.params["model"] == "roadseg-rt"


def test_compare_tab_starts_on_the_default_version_and_the_newest_other(gateway):
    version = ONE_VERSION[0]["versions"][0]
    three = [
        {
            **ONE_VERSION[0],
            "default_version": "3.0",
            "versions": [{**version, "version": v, "is_default": v == "3.0"} for v in ("1.0", "2.0", "3.0")],
        }
    ]
    gateway.get("/models").respond(json=three)
    app = run_app()
    assert [app.selectbox(key=f"compare_{i}").index for i in (0, 1)] == [2, 1]  # A 3.0 (default), B 2.0
    app.radio(key="compare_source").set_value("Sample").run()
    versions = [c.request.url.params.get("version") for c in gateway.calls if c.request.url.path == "/predict"]
    assert versions == ["3.0", "2.0"]


def test_compare_tab_says_so_when_one_version_is_registered(gateway):
    app = run_app()
    assert any("nothing to compare" in info.value for info in app.info)


VIDEO_JOB = {
    "id": "a" * 32,
    "status": "queued",
    "frames_done": 0,
    "frames_total": 12,
    "fps": 10.0,
    "width": 96,
    "height": 64,
    "seconds": 1.2,
    "model": None,
    "version": None,
    "error": None,
    "processing_seconds": None,
    "video_url": None,
    "masks_url": None,
}


def video_progress(*steps: dict) -> list[httpx.Response]:
    return [httpx.Response(200, json={**VIDEO_JOB, **step}) for step in steps]


def test_video_tab_follows_the_job_then_plays_and_offers_the_results(gateway, tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4").read_bytes()
    submitted = gateway.post("/videos").respond(202, json=VIDEO_JOB)
    done = {
        "status": "done",
        "frames_done": 12,
        "model": "roadseg",
        "version": "1.0",
        "processing_seconds": 2.0,
        "video_url": f"{GATEWAY}/videos/{'a' * 32}/video",
        "masks_url": f"{GATEWAY}/videos/{'a' * 32}/masks",
    }
    gateway.get(f"/videos/{'a' * 32}").mock(
        side_effect=video_progress(
            {"status": "running", "frames_done": 4}, {"status": "running", "frames_done": 9}, done
        )
    )
    gateway.get(f"/videos/{'a' * 32}/video").respond(content=clip, headers={"content-type": "video/mp4"})
    gateway.get(f"/videos/{'a' * 32}/masks").respond(content=b"PK zip", headers={"content-type": "application/zip"})
    app = run_app()
    app.radio(key="video_source").set_value("Sample").run()
    app.checkbox(key="video_masks").check().run()
    app.button(key="segment_video").click().run()
    assert not app.exception and not app.error
    assert submitted.calls.last.request.url.params["masks"] == "true"
    assert b"camvid_0016E5.mp4" in submitted.calls.last.request.content  # the sample clip was uploaded
    assert len(app.get("video")) == 1
    assert {m.label: m.value for m in app.metric}["Frames"] == "12 at 96x64"
    labels = [b.label for b in app.get("download_button")]
    assert "Download overlay video (MP4)" in labels and "Download masks (ZIP)" in labels
    app.slider(key="opacity").set_value(0.7).run()  # a rerun shows the same result without asking again
    assert calls(gateway).count(f"GET /videos/{'a' * 32}/video") == 1 and len(app.get("video")) == 1


def test_a_failed_video_job_and_a_gateway_that_goes_away_give_messages(gateway, tmp_path):
    gateway.post("/videos").respond(202, json=VIDEO_JOB)
    status = gateway.get(f"/videos/{'a' * 32}")
    status.mock(side_effect=video_progress({"status": "failed", "error": "no frame of the video could be decoded"}))
    app = run_app()
    clip = write_clip(tmp_path / "c.mp4").read_bytes()
    app.file_uploader(key="video_upload").set_value(("clip.mp4", clip, "video/mp4")).run()
    app.button(key="segment_video").click().run()
    assert not app.exception
    assert app.error[0].value == "The video could not be segmented: no frame of the video could be decoded"
    status.mock(side_effect=httpx.ConnectError("refused"))
    app.run()
    assert "not reachable" in app.error[0].value and "check again in a moment" in app.error[0].value
    assert app.button(key="video_check_again")


def test_a_refused_video_shows_the_gateway_message(gateway, tmp_path):
    gateway.post("/videos").respond(413, json={"error": "video_too_long", "message": "the video lasts 300.0 s"})
    app = run_app()
    app.file_uploader(key="video_upload").set_value(("long.mp4", b"\0" * 10, "video/mp4")).run()
    app.button(key="segment_video").click().run()
    assert app.error[0].value == "The segmentation service refused 'long.mp4': the video lasts 300.0 s"


def test_the_file_pickers_take_every_format_the_api_reads(gateway):
    app = run_app()
    offered = {name.lstrip(".") for name in app.get("file_uploader")[0].proto.type}
    assert offered == set(IMAGE_EXTENSIONS)
