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
