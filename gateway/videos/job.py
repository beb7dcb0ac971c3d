"""One video job's record: what was asked, how far it got, where its files are. Data only: the store runs it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gateway.videos.codec import VideoInfo

INPUT, VIDEO, MASKS = "input", "overlay.mp4", "masks.zip"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


@dataclass
class JobRequest:
    """What the client asked for: the model (its default version unless `version`), the overlay's colour weight,
    and whether to keep every frame's mask."""

    model: str
    version: str | None
    alpha: float
    with_masks: bool


@dataclass
class Job:
    id: str
    folder: Path
    info: VideoInfo
    request: JobRequest
    status: JobStatus = JobStatus.queued
    frames_done: int = 0
    model: str | None = None  # who answered (the first frame on)
    version: str | None = None
    error: str | None = None
    finished: float | None = None
    seconds: float | None = None

    @property
    def input(self) -> Path:
        return self.folder / INPUT

    @property
    def video(self) -> Path:
        return self.folder / VIDEO

    @property
    def masks(self) -> Path:
        return self.folder / MASKS

    @property
    def unfinished(self) -> bool:
        return self.status in (JobStatus.queued, JobStatus.running)
