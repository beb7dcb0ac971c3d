"""Gateway settings: one class, read from GATEWAY_* environment variables (or a .env file)."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from roadseg.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore", populate_by_name=True)

    torchserve_inference_url: str = Field("http://127.0.0.1:8080", description="TorchServe inference API")
    torchserve_management_url: str = Field("http://127.0.0.1:8081", description="TorchServe management API")
    # Token authorization: keys from TorchServe's key_file.json (re-read when a key is refused), or given here.
    torchserve_key_file: Path | None = Field(None, description="TorchServe's key_file.json")
    torchserve_inference_key: SecretStr | None = None
    torchserve_management_key: SecretStr | None = None
    torchserve_api_key: SecretStr | None = None

    model_name: str = Field("roadseg", description="TorchServe model answering /predict by default")
    max_upload_bytes: int = Field(20 * 1024 * 1024, description="larger uploads get 413")
    # Shared with the handler (roadseg.limits), so the two cannot disagree: ROADSEG_MAX_PIXELS, no prefix.
    max_pixels: int = Field(
        DEFAULT_MAX_PIXELS, gt=0, validation_alias=MAX_PIXELS_ENV, description="images with more pixels get 413"
    )
    inference_timeout_s: float = Field(30.0, description="TorchServe slower than this gets 504")
    connect_timeout_s: float = Field(3.0, description="TorchServe unreachable for this long gets 503")
    max_connections: int = Field(32, description="connection pool size towards TorchServe")
    retries: int = Field(2, ge=0, description="retries of a prediction whose TorchServe worker died or restarts")
    retry_backoff_s: float = Field(0.25, ge=0, description="first retry's delay; doubled for each next one")
    lost_request_check_s: float = Field(
        1.0,
        gt=0,
        description="a prediction slower than this looks at TorchServe's workers (and again at this interval); "
        "if one restarts, which in TorchServe 0.12 can drop requests unanswered, it is sent again",
    )
    max_in_flight: int = Field(8, gt=0, description="predictions sent to TorchServe at once")
    max_queued: int = Field(16, ge=0, description="predictions waiting for a slot; beyond, 503 at once")
    threads: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),
        gt=0,
        description="worker threads for decoding and rendering (default: the cores this process may use)",
    )
    version_cache_s: float = Field(5.0, description="how long the default model version is cached")
    # Video jobs (POST /videos).
    max_video_bytes: int = Field(200 * 1024 * 1024, gt=0, description="larger video uploads get 413")
    max_video_seconds: float = Field(120.0, gt=0, description="longer videos get 413")
    video_jobs: int = Field(4, gt=0, description="videos waiting or being segmented; beyond, 503")
    video_workers: int = Field(1, gt=0, description="videos segmented at once")
    video_frames_in_flight: int = Field(
        4, gt=0, description="frames of a video at TorchServe at once (its batch size lets them share batches)"
    )
    video_frame_retries: int = Field(5, ge=0, description="times a frame is sent again while TorchServe restarts")
    video_results_keep_s: float = Field(3600.0, gt=0, description="finished videos' results are deleted after this")
    video_dir: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "roadseg-videos",
        description="where uploads and results of video jobs are kept",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
