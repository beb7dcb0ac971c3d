"""Video jobs: a clip is segmented frame by frame in the background while clients poll its progress.

Each job lives in its own folder (the upload, the overlay MP4, optionally a ZIP of the masks) and in memory.
Frames go to TorchServe a few at a time, so its batching sees full batches; a frame whose worker died or
restarted is sent again. Finished jobs are deleted once their results have been kept for the configured
time. Jobs do not survive a restart of the gateway itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import uuid
import zipfile
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import av.error
import numpy as np
from anyio import to_thread

from gateway.errors import GatewayError
from gateway.rendering import mask_ids, overlay
from gateway.torchserve import Prediction
from gateway.video import Mp4Writer, VideoInfo, bmp_bytes, rgb_frames

logger = logging.getLogger("gateway.jobs")
INPUT, VIDEO, MASKS = "input", "overlay.mp4", "masks.zip"
# Answers worth sending a frame again for: the model server restarting, busy or briefly unreachable.
RETRYABLE_FRAME_ERRORS = frozenset(
    {"torchserve_busy", "torchserve_unavailable", "torchserve_lost_request", "torchserve_error"}
)

Predict = Callable[[bytes], Awaitable[Prediction]]


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


@dataclass
class Job:
    id: str
    folder: Path
    info: VideoInfo
    predict: Predict
    alpha: float
    with_masks: bool
    status: JobStatus = JobStatus.queued
    frames_done: int = 0
    model: str | None = None
    version: str | None = None
    error: str | None = None
    finished: float | None = None
    seconds: float | None = None

    @property
    def input(self) -> Path:
        return self.folder / INPUT


class JobStore:
    """The jobs of one gateway: at most `capacity` unfinished, `workers` running at once, each with
    `frames_in_flight` frames at TorchServe; results deleted `keep_s` after they are finished."""

    def __init__(
        self,
        root: Path,
        capacity: int,
        workers: int,
        frames_in_flight: int,
        keep_s: float,
        frame_retries: int,
        retry_delay_s: float = 1.0,
    ):
        self.root, self.capacity, self.workers = root, capacity, workers
        self.frames_in_flight, self.keep_s = frames_in_flight, keep_s
        self.frame_retries, self.retry_delay_s = frame_retries, retry_delay_s
        self.jobs: dict[str, Job] = {}
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.folder = root

    def start(self) -> None:
        """Run the workers and the sweeper; this gateway's jobs go to a folder of its own under `root`."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-", dir=self.root))
        self.tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self.tasks.append(asyncio.create_task(self._sweep_forever()))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its folder; 503 when `capacity` jobs are already waiting or running."""
        unfinished = sum(j.status in (JobStatus.queued, JobStatus.running) for j in self.jobs.values())
        if unfinished >= self.capacity:
            raise GatewayError(
                503, "busy", f"{unfinished} videos are waiting or being segmented; try again in a moment"
            )
        job_id = uuid.uuid4().hex
        folder = self.folder / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def submit(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.queue.put_nowait(job)

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise GatewayError(404, "job_not_found", f"no video job {job_id!r} (unknown, or its results expired)")
        return job

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        del self.jobs[job_id]
        if job.status is not JobStatus.running:  # a running job's folder goes when it notices (below)
            shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete the finished jobs kept longer than `keep_s`; returns how many."""
        now = time.time() if now is None else now
        expired = [j for j in self.jobs.values() if j.finished is not None and now - j.finished > self.keep_s]
        for job in expired:
            self.jobs.pop(job.id, None)
            shutil.rmtree(job.folder, ignore_errors=True)
        return len(expired)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, max(1.0, self.keep_s / 4)))
            if removed := self.sweep():
                logger.info("deleted %d expired video job(s)", removed)

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            if job.id not in self.jobs:
                continue  # deleted while it waited
            job.status, started = JobStatus.running, time.monotonic()
            try:
                await self.run(job)
                job.status = JobStatus.done
            except GatewayError as error:
                job.status, job.error = JobStatus.failed, error.message
            except Exception as error:
                logger.exception("video job %s failed", job.id)
                job.status, job.error = JobStatus.failed, f"the video could not be segmented ({type(error).__name__})"
            job.finished, job.seconds = time.time(), time.monotonic() - started
            job.input.unlink(missing_ok=True)
            if job.id not in self.jobs:
                shutil.rmtree(job.folder, ignore_errors=True)
            logger.info("video job %s %s: %d frames in %.1f s", job.id, job.status, job.frames_done, job.seconds or 0)

    async def run(self, job: Job) -> None:
        """Segment every frame in order, `frames_in_flight` at TorchServe at once, and write the overlay MP4
        (and the masks' ZIP) as the answers come back."""
        frames = rgb_frames(job.input)
        writer = await to_thread.run_sync(Mp4Writer, job.folder / VIDEO, job.info.fps, job.info.width, job.info.height)
        masks = zipfile.ZipFile(job.folder / MASKS, "w", zipfile.ZIP_STORED) if job.with_masks else None
        pending: deque[tuple[np.ndarray, asyncio.Task[Prediction]]] = deque()
        finished = False
        try:
            while job.id in self.jobs:
                rgb = await to_thread.run_sync(_next_or_none, frames, job.frames_done + len(pending))
                if rgb is not None:
                    data = await to_thread.run_sync(bmp_bytes, rgb)
                    pending.append((rgb, asyncio.create_task(self._predict_frame(job, data))))
                if pending and (rgb is None or len(pending) >= self.frames_in_flight):
                    done_rgb, task = pending.popleft()
                    prediction = await task
                    await to_thread.run_sync(_write_frame, job, writer, masks, done_rgb, prediction)
                if rgb is None and not pending:
                    break
            await to_thread.run_sync(writer.close)
            finished = True
        finally:
            if not finished:
                writer.abort()
            for _, task in pending:
                task.cancel()
            if masks is not None:
                masks.close()
            frames.close()
        if job.frames_done == 0:
            raise GatewayError(415, "unsupported_video", "no frame of the video could be decoded")

    async def _predict_frame(self, job: Job, data: bytes) -> Prediction:
        """One frame's mask; sent again (after the client's own retries) while TorchServe restarts."""
        for attempt in range(self.frame_retries + 1):
            try:
                return await job.predict(data)
            except GatewayError as error:
                if error.error not in RETRYABLE_FRAME_ERRORS or attempt == self.frame_retries:
                    raise
                logger.warning("video job %s: a frame failed (%s); sending it again", job.id, error.message)
                await asyncio.sleep(self.retry_delay_s)
        raise AssertionError("unreachable")


def _next_or_none(frames: Iterator[np.ndarray], index: int) -> np.ndarray | None:
    """The next frame (number `index`), None after the last; a frame FFmpeg cannot decode fails the job."""
    try:
        return next(frames, None)
    except av.error.FFmpegError as error:
        raise GatewayError(
            415, "unsupported_video", f"frame {index} of the video cannot be decoded ({error})"
        ) from None


def _write_frame(
    job: Job, writer: Mp4Writer, masks: zipfile.ZipFile | None, rgb: np.ndarray, prediction: Prediction
) -> None:
    ids = mask_ids(prediction.png)
    if ids.shape != rgb.shape[:2]:
        raise GatewayError(
            502,
            "torchserve_error",
            f"the model server returned a {ids.shape[::-1]} mask for a {rgb.shape[1::-1]} frame",
        )
    writer.write(overlay(rgb, ids, job.alpha))
    if masks is not None:
        masks.writestr(f"frame_{job.frames_done:06d}.png", prediction.png)
    job.model, job.version = prediction.model, prediction.version
    job.frames_done += 1
