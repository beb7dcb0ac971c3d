"""The gateway's video jobs: capacity reserved when a job is created, one folder per job (its record, the upload, the
overlay MP4, optionally a ZIP of the masks), workers that run the frame pipeline against the model server, and a
sweeper that deletes results kept past their time.

Jobs survive a restart of the gateway: each record is on disk (`job.json`), and each frame's mask is kept while its
job runs. A restarted gateway reads the records back; an unfinished job goes back in the queue and resumes, sending
only the frames it has no mask for (the overlay video is encoded again from the start). The gateway that holds the
lock of `root` owns `root/jobs`; another one sharing the folder keeps its jobs apart and recovers none."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from anyio import to_thread

from gateway.errors import GatewayError
from gateway.model_server import ModelServer, Prediction
from gateway.retry import RetryPolicy
from gateway.videos.codec import Mp4Writer, VideoInfo, rgb_frames
from gateway.videos.job import INPUT, RECORD, Job, JobRequest, JobStatus
from gateway.videos.pipeline import segmented_frames
from roadseg.masks import overlay

logger = logging.getLogger("gateway.jobs")
SAVE_EVERY_FRAMES = 25  # how often a running job's progress is written to its record
# Writes the upload to the path it is given (the new job's input) and returns what the clip holds (raises to refuse).
Fill = Callable[[Path], Awaitable[VideoInfo]]


class JobStore:
    """At most `capacity` unfinished jobs (reserved atomically at creation), `workers` running at once, each
    with `frames_in_flight` frames at the model server (each sent under `frame_retry`); results deleted
    `keep_s` after they are finished."""

    def __init__(
        self,
        root: Path,
        model_server: ModelServer,
        capacity: int,
        workers: int,
        frames_in_flight: int,
        keep_s: float,
        frame_retry: RetryPolicy,
    ):
        self.root, self.model_server, self.capacity, self.workers = root, model_server, capacity, workers
        self.frames_in_flight, self.keep_s, self.frame_retry = frames_in_flight, keep_s, frame_retry
        self.jobs: dict[str, Job] = {}
        self.reserved = 0  # jobs being created: their uploads are still arriving
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.folder = root / "jobs"
        self.lock: int | None = None  # the file descriptor holding `root`'s lock, when this gateway owns it

    def start(self) -> None:
        """Take `root`'s lock and recover its jobs (or, when another gateway holds it, use a folder of its own),
        then run the workers and the sweeper."""
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            self.folder = Path(tempfile.mkdtemp(prefix="gateway-", dir=self.root))
            logger.warning("%s is another gateway's: this one's video jobs will not survive a restart", self.root)
        else:
            self.lock, self.folder = descriptor, self.root / "jobs"
            self.folder.mkdir(exist_ok=True)
            self.recover()
        self.tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self.tasks.append(asyncio.create_task(self._sweep_forever()))

    async def stop(self) -> None:
        """Stop the workers: a running job stays on disk, unfinished, and resumes when a gateway starts on `root`."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.lock is None:
            shutil.rmtree(self.folder, ignore_errors=True)  # a private folder: nothing will recover it
        else:
            os.close(self.lock)
            self.lock = None

    def recover(self) -> None:
        """Read back the jobs on disk: finished ones are served until they expire, unfinished ones queued again
        (resumed), and a folder whose job never got its record (its upload was still arriving) is deleted."""
        for folder in sorted(p for p in self.folder.iterdir() if p.is_dir()):
            if not (folder / RECORD).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                continue
            try:
                job = Job.load(folder)
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.warning("video job folder %s has an unreadable record (%s): deleted", folder, error)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self.jobs[job.id] = job
            if not job.unfinished:
                continue
            if not job.input.is_file():
                job.status, job.finished = JobStatus.failed, time.time()
                job.error = "interrupted by a gateway restart, and its upload is gone: submit the video again"
                job.save()
                continue
            job.status, job.frames_done = JobStatus.queued, 0
            job.save()
            self.queue.put_nowait(job)
            logger.info("video job %s resumes after a restart", job.id)

    def unfinished(self) -> int:
        return sum(j.unfinished for j in self.jobs.values())

    async def create(self, request: JobRequest, fill: Fill) -> Job:
        """A queued job: its place reserved first (503 when `capacity` jobs are waiting, running or being
        created), then its input written by `fill`; if that fails, the place and the folder are given back."""
        taken = self.unfinished() + self.reserved
        if taken >= self.capacity:
            raise GatewayError(503, "busy", f"{taken} videos are waiting or being segmented; try again in a moment")
        self.reserved += 1
        job_id = uuid.uuid4().hex
        folder = self.folder / job_id
        try:
            folder.mkdir(parents=True)
            info = await fill(folder / INPUT)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            self.reserved -= 1
        job = Job(job_id, folder, info, request)
        job.save()
        self.jobs[job.id] = job
        self.queue.put_nowait(job)
        return job

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
            job.save()
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
            shutil.rmtree(job.frames, ignore_errors=True)
            if job.id not in self.jobs:
                shutil.rmtree(job.folder, ignore_errors=True)
            else:
                job.save()
            logger.info("video job %s %s: %d frames in %.1f s", job.id, job.status, job.frames_done, job.seconds or 0)

    async def run(self, job: Job) -> None:
        """Every frame through the pipeline, in order; the overlay MP4 (and the masks' ZIP) written as the
        answers come back. Stops when the job is deleted."""
        asked = job.request
        job.frames.mkdir(exist_ok=True)
        sent = 0

        async def predict(frame: bytes) -> Prediction:
            """The frame's mask: kept from before a restart, or from the model server (frames come in order)."""
            nonlocal sent
            kept, sent = frame_mask(job, sent), sent + 1
            if kept.is_file() and job.model is not None and job.version is not None:
                return Prediction(await to_thread.run_sync(kept.read_bytes), job.model, job.version, 0.0)
            return await self.model_server.predict(frame, asked.model, asked.version, retry=self.frame_retry)

        frames = rgb_frames(job.input)
        info = job.info
        writer = await to_thread.run_sync(Mp4Writer, job.video, info.fps, info.width, info.height)
        masks = zipfile.ZipFile(job.masks, "w", zipfile.ZIP_STORED) if asked.with_masks else None
        finished = False
        try:
            pipeline = segmented_frames(frames, predict, self.frames_in_flight)
            async with contextlib.aclosing(pipeline):
                async for rgb, ids, prediction in pipeline:
                    await to_thread.run_sync(write_overlay, writer, rgb, ids, asked.alpha)
                    if masks is not None:
                        masks.writestr(f"frame_{job.frames_done:06d}.png", prediction.png)
                    kept = frame_mask(job, job.frames_done)
                    if not kept.is_file():
                        await to_thread.run_sync(kept.write_bytes, prediction.png)
                    if job.model is None:
                        job.model, job.version = prediction.model, prediction.version
                        job.save()
                    job.frames_done += 1
                    if job.frames_done % SAVE_EVERY_FRAMES == 0:
                        await to_thread.run_sync(job.save)
                    if job.id not in self.jobs:
                        break
            await to_thread.run_sync(writer.close)
            finished = True
        finally:
            if not finished:
                writer.abort()
            if masks is not None:
                masks.close()
            # Cancelled (the gateway stopping) while a worker thread decodes the next frame: that decode ends
            # on its own, and closing the generator under it would replace the cancellation with a ValueError.
            with contextlib.suppress(ValueError):
                frames.close()
        if job.frames_done == 0:
            raise GatewayError(415, "unsupported_video", "no frame of the video could be decoded")


def frame_mask(job: Job, index: int) -> Path:
    return job.frames / f"frame_{index:06d}.png"


def write_overlay(writer: Mp4Writer, rgb: np.ndarray, ids: np.ndarray, alpha: float) -> None:
    writer.write(overlay(rgb, ids, alpha))
