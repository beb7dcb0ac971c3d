"""One video job's record: what was asked, how far it got, where its files are. Data only: the store runs it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from gateway.videos.codec import VideoInfo

INPUT, VIDEO, MASKS, RECORD, FRAMES = "input", "overlay.mp4", "masks.zip", "job.json", "frames"


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
    def record(self) -> Path:
        return self.folder / RECORD

    @property
    def frames(self) -> Path:
        """Each segmented frame's mask PNG while the job runs: a job resumed after a restart reuses them."""
        return self.folder / FRAMES

    @property
    def unfinished(self) -> bool:
        return self.status in (JobStatus.queued, JobStatus.running)

    def to_dict(self) -> dict[str, Any]:
        info = asdict(self.info) | {"fps": str(self.info.fps)}
        fields = ("id", "status", "frames_done", "model", "version", "error", "finished", "seconds")
        return {name: getattr(self, name) for name in fields} | {"info": info, "request": asdict(self.request)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> Job:
        info = VideoInfo(**(data["info"] | {"fps": Fraction(data["info"]["fps"])}))
        job = cls(data["id"], folder, info, JobRequest(**data["request"]), JobStatus(data["status"]))
        job.frames_done, job.model, job.version = data["frames_done"], data["model"], data["version"]
        job.error, job.finished, job.seconds = data["error"], data["finished"], data["seconds"]
        return job

    def save(self) -> None:
        """The record on disk (written whole, then renamed over the last): what a restarted gateway reads back."""
        part = self.record.with_suffix(".part")
        part.write_text(json.dumps(self.to_dict()))
        os.replace(part, self.record)

    @classmethod
    def load(cls, folder: Path) -> Job:
        return cls.from_dict(json.loads((folder / RECORD).read_text()), folder)
