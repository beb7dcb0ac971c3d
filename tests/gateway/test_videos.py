"""Video jobs over the gateway's API, with TorchServe mocked as the handler answers: real clips in, real MP4
and ZIP out."""

from __future__ import annotations

import io
import time
import zipfile

import httpx
import numpy as np
import pytest
import respx
from PIL import Image

from gateway.videos.store import JobStore
from roadseg.categories import CATEGORY_PALETTE
from roadseg.images import encode_png
from tests.gateway.conftest import INFERENCE, make_client
from tests.videos import decoded_frames, write_clip

CATEGORY = 2  # construction: (70, 70, 70)


def constant_model(fail_first: int = 0, status: int = 503) -> respx.Route:
    """TorchServe answering every frame with CATEGORY at the frame's size; the first `fail_first` calls fail."""
    calls = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= fail_first:
            return httpx.Response(status, json={"code": status, "message": "Worker died."})
        width, height = Image.open(io.BytesIO(request.content)).size
        png = encode_png(np.full((height, width), CATEGORY, np.uint8))
        return httpx.Response(200, content=png, headers={"content-type": "image/png", "X-Model-Version": "2.0"})

    return respx.post(f"{INFERENCE}/predictions/roadseg").mock(side_effect=answer)


def wait_until_finished(client, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/videos/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def submit(client, path, **params) -> httpx.Response:
    return client.post("/videos", params=params, files={"file": (path.name, path.read_bytes(), "video/mp4")})


@pytest.mark.parametrize("suffix", ["mp4", "mkv", "avi"])
@respx.mock
def test_a_clip_goes_through_the_job_api_and_comes_back_with_its_frames_and_size(tmp_path, suffix):
    clip = write_clip(tmp_path / f"dashcam.{suffix}", frames=12, codec="mpeg4" if suffix == "avi" else "libx264")
    route = constant_model()
    with make_client(video_dir=tmp_path / "jobs") as client:
        accepted = submit(client, clip, masks="true", alpha="1.0")
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert job["status"] in ("queued", "running") and job["frames_total"] == 12 and job["fps"] == 10
        assert accepted.headers["location"].endswith(f"/videos/{job['id']}")
        job = wait_until_finished(client, job["id"])
        assert job["status"] == "done", job
        assert (job["frames_done"], job["frames_total"], job["model"], job["version"]) == (12, 12, "roadseg", "2.0")
        video = client.get(job["video_url"])
        masks = client.get(job["masks_url"])
    assert route.call_count == 12
    assert video.headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(video.content)
    frames = decoded_frames(tmp_path / "out.mp4")
    assert len(frames) == 12 and all(f.shape == (64, 96, 3) for f in frames)
    # alpha 1: every pixel is the category's colour (H.264 is lossy: within a few levels)
    assert np.abs(np.stack(frames).astype(int) - CATEGORY_PALETTE[CATEGORY]).max() <= 6
    with zipfile.ZipFile(io.BytesIO(masks.content)) as archive:
        names = archive.namelist()
        assert names == [f"frame_{i:06d}.png" for i in range(12)]
        mask = np.asarray(Image.open(io.BytesIO(archive.read(names[-1]))))
    assert mask.shape == (64, 96) and np.unique(mask).tolist() == [CATEGORY]


@respx.mock
def test_frames_whose_worker_died_are_sent_again_and_the_job_completes(tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4", frames=6)
    route = constant_model(fail_first=5)  # the gateway's own 2 retries, then the job's, for the first frame(s)
    with make_client(video_dir=tmp_path / "jobs", video_frame_retries=5) as client:
        job = wait_until_finished(client, submit(client, clip).json()["id"])
    assert job["status"] == "done" and job["frames_done"] == 6
    assert route.call_count == 6 + 5


@respx.mock
def test_a_frame_the_model_refuses_fails_the_job_with_its_reason(tmp_path):
    clip = write_clip(tmp_path / "dashcam.mp4", frames=4)
    constant_model(fail_first=100, status=400)
    with make_client(video_dir=tmp_path / "jobs") as client:
        job = wait_until_finished(client, submit(client, clip).json()["id"])
        result = client.get(f"/videos/{job['id']}/video")
    assert job["status"] == "failed" and "Worker died." in job["error"]
    assert result.status_code == 409 and result.json()["error"] == "job_not_done"


@respx.mock
def test_bad_uploads_get_clear_errors_before_any_frame_is_sent(tmp_path):
    route = constant_model()
    clip = write_clip(tmp_path / "dashcam.mp4", frames=12)  # 1.2 s
    with make_client(video_dir=tmp_path / "jobs", max_video_seconds=1.0, max_video_bytes=50_000) as client:
        answers = {
            "not a video": client.post("/videos", files={"file": ("x.mp4", b"not a video at all")}),
            "an image": client.post("/videos", files={"file": ("x.png", encode_png(np.zeros((8, 8), np.uint8)))}),
            "empty": client.post("/videos", files={"file": ("x.mp4", b"")}),
            "too long": submit(client, clip),
            "too large": client.post("/videos", files={"file": ("x.mp4", b"\0" * 60_000)}),
            "no file": client.post("/videos"),
        }
    expected = {
        "not a video": (415, "unsupported_video"),
        "an image": (415, "unsupported_video"),
        "empty": (400, "empty_upload"),
        "too long": (413, "video_too_long"),
        "too large": (413, "upload_too_large"),
        "no file": (422, "invalid_request"),
    }
    assert {k: (r.status_code, r.json()["error"]) for k, r in answers.items()} == expected
    assert "1.2 s" in answers["too long"].json()["message"]
    assert not route.called
    assert not any((tmp_path / "jobs").rglob("input"))  # refused uploads leave no file behind


@respx.mock
def test_unknown_jobs_masks_not_asked_for_capacity_deletion_and_expiry(tmp_path):
    constant_model()
    clip = write_clip(tmp_path / "dashcam.mp4", frames=3)
    with make_client(video_dir=tmp_path / "jobs", video_jobs=1) as client:
        assert client.get(f"/videos/{'0' * 32}").status_code == 404
        assert client.get("/videos/not-an-id").status_code == 422
        jobs: JobStore = client.app.state.jobs
        first = submit(client, clip).json()
        second = submit(client, clip)  # one unfinished job is the limit here
        assert second.status_code == 503 and second.headers["retry-after"] == "1"
        done = wait_until_finished(client, first["id"])
        assert done["masks_url"] is None
        assert client.get(f"/videos/{first['id']}/masks").json()["error"] == "no_masks"
        folder = jobs.get(first["id"]).folder
        assert (folder / "overlay.mp4").is_file() and not (folder / "input").exists()  # the upload is gone
        assert jobs.sweep(now=time.time() + 10) == 0  # kept for an hour
        assert jobs.sweep(now=time.time() + 7200) == 1 and not folder.exists()
        assert client.get(f"/videos/{first['id']}").status_code == 404
        again = submit(client, clip).json()
        assert client.delete(f"/videos/{again['id']}").status_code == 204
        assert client.get(f"/videos/{again['id']}").status_code == 404


def test_a_wrong_method_names_every_method_the_path_offers():
    with make_client() as client:
        response = client.request("PUT", f"/videos/{'0' * 32}")
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET"
    assert response.json()["error"] == "method_not_allowed"
