"""The job store reserves a job's place before its upload arrives: concurrent uploads never exceed capacity."""

import asyncio
from fractions import Fraction

import pytest

from gateway.errors import GatewayError
from gateway.retry import RetryPolicy
from gateway.videos.codec import VideoInfo
from gateway.videos.job import JobRequest, JobStatus
from gateway.videos.store import JobStore

INFO = VideoInfo(frames=3, fps=Fraction(15), width=8, height=6, seconds=0.2, container="MP4/MOV")
REQUEST = JobRequest("roadseg", None, 0.5, False)


def store(tmp_path, capacity: int) -> JobStore:
    jobs = JobStore(tmp_path, model_server=None, capacity=capacity, workers=1, frames_in_flight=1, keep_s=60,
                    frame_retry=RetryPolicy(1, 0.1, 0.1, 1))  # fmt: skip
    jobs.folder = tmp_path
    return jobs


def test_a_second_upload_while_the_first_still_arrives_is_refused(tmp_path):
    jobs = store(tmp_path, capacity=1)

    async def scenario():
        arriving = asyncio.Event()

        async def slow_fill(folder):
            arriving.set()
            await asyncio.sleep(0.05)
            return INFO

        async def fast_fill(folder):
            return INFO

        first = asyncio.create_task(jobs.create(REQUEST, slow_fill))
        await arriving.wait()
        with pytest.raises(GatewayError) as refused:
            await jobs.create(REQUEST, fast_fill)
        return await first, refused.value

    job, refusal = asyncio.run(scenario())
    assert refusal.status_code == 503 and refusal.error == "busy"
    assert job.status is JobStatus.queued and list(jobs.jobs) == [job.id] and jobs.reserved == 0


def test_a_refused_upload_gives_its_place_and_folder_back(tmp_path):
    jobs = store(tmp_path, capacity=1)

    async def refused_fill(upload):
        upload.write_bytes(b"not a video")
        raise GatewayError(415, "unsupported_video", "not a video")

    async def fill(folder):
        return INFO

    with pytest.raises(GatewayError, match="not a video"):
        asyncio.run(jobs.create(REQUEST, refused_fill))
    assert jobs.reserved == 0 and not any(tmp_path.iterdir())
    assert asyncio.run(jobs.create(REQUEST, fill)).request == REQUEST


class CountingModelServer:
    """Answers every frame with category 2 at the frame's size, counting the frames it was sent."""

    def __init__(self):
        self.calls = 0

    async def predict(self, image, model, version=None, with_confidence=False, retry=None):
        from io import BytesIO

        import numpy as np
        from PIL import Image

        from gateway.model_server import Prediction
        from roadseg.masks import encode_mask_png

        self.calls += 1
        width, height = Image.open(BytesIO(image)).size
        return Prediction(encode_mask_png(np.full((height, width), 2, np.uint8)), model, "2.0", 1.0)


def restarted_store(root, server) -> JobStore:
    return JobStore(root, server, capacity=4, workers=1, frames_in_flight=2, keep_s=60,
                    frame_retry=RetryPolicy(1, 0.1, 0.1, 1))  # fmt: skip


async def run_until_settled(jobs: JobStore, job_id: str) -> None:
    jobs.start()
    try:
        for _ in range(400):
            if not jobs.get(job_id).unfinished:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")
    finally:
        await jobs.stop()


def interrupted_job(root, frames_kept: int, clip_frames: int = 10) -> tuple[str, int]:
    """A job as a gateway killed mid-run leaves it on disk: its record (running), upload and first masks."""
    import numpy as np

    from gateway.videos.job import Job
    from roadseg.masks import encode_mask_png
    from tests.videos import write_clip

    folder = root / "jobs" / "cafe"
    folder.mkdir(parents=True)
    write_clip(folder / "input.mp4", frames=clip_frames, width=64, height=48).rename(folder / "input")
    info = VideoInfo(frames=clip_frames, fps=Fraction(15), width=64, height=48, seconds=0.7, container="MP4/MOV")
    job = Job("cafe", folder, info, JobRequest("roadseg", None, 0.5, True), JobStatus.running, frames_done=frames_kept)
    job.model, job.version = "roadseg", "2.0"
    job.frames.mkdir()
    for index in range(frames_kept):
        (job.frames / f"frame_{index:06d}.png").write_bytes(encode_mask_png(np.full((48, 64), 2, np.uint8)))
    job.save()
    return job.id, clip_frames


def test_a_job_interrupted_by_a_restart_resumes_and_sends_only_the_frames_it_lacks(tmp_path):
    import zipfile

    from tests.videos import decoded_frames

    job_id, frames = interrupted_job(tmp_path, frames_kept=6)
    server = CountingModelServer()
    jobs = restarted_store(tmp_path, server)
    asyncio.run(run_until_settled(jobs, job_id))
    job = jobs.get(job_id)
    assert job.status is JobStatus.done and job.frames_done == frames
    assert server.calls == frames - 6  # the six kept masks were not asked for again
    assert len(decoded_frames(job.video)) == frames
    with zipfile.ZipFile(job.masks) as masks:
        assert len(masks.namelist()) == frames
    assert not job.frames.exists() and not job.input.exists()
    again = restarted_store(tmp_path, CountingModelServer())  # and a later restart still serves the result
    asyncio.run(run_until_settled(again, job_id))
    assert again.get(job_id).status is JobStatus.done and again.get(job_id).video.is_file()


def test_a_job_whose_upload_is_gone_says_interrupted_instead_of_vanishing(tmp_path):
    job_id, _ = interrupted_job(tmp_path, frames_kept=2)
    (tmp_path / "jobs" / job_id / "input").unlink()
    jobs = restarted_store(tmp_path, CountingModelServer())
    asyncio.run(run_until_settled(jobs, job_id))
    job = jobs.get(job_id)
    assert job.status is JobStatus.failed and "interrupted by a gateway restart" in job.error
    assert "submit the video again" in job.error


def test_a_second_gateway_on_the_same_folder_keeps_apart_and_recovers_nothing(tmp_path):
    job_id, _ = interrupted_job(tmp_path, frames_kept=2)
    owner, other = restarted_store(tmp_path, CountingModelServer()), restarted_store(tmp_path, CountingModelServer())

    async def both():
        owner.start()
        other.start()
        try:
            assert job_id in owner.jobs and job_id not in other.jobs
            assert other.folder != owner.folder and other.folder.parent == tmp_path
        finally:
            await other.stop()
            await owner.stop()

    asyncio.run(both())
    assert not any(p.name.startswith("gateway-") for p in tmp_path.iterdir())  # the private folder is gone
