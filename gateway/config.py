"""Gateway settings: one class, read from GATEWAY_* environment variables (or a .env file)."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.retry import RetryPolicy
from roadseg.contract import (
    GATEWAY_INFERENCE_TIMEOUT_S,
    MODEL_NAME,
    TORCHSERVE_BATCH_SIZE,
    TORCHSERVE_INFERENCE_PORT,
    TORCHSERVE_MANAGEMENT_PORT,
    TORCHSERVE_RESPONSE_TIMEOUT_S,
    VIDEO_RESULTS_KEEP_S,
    check_timeouts,
)
from roadseg.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore", populate_by_name=True)

    torchserve_inference_url: str = Field(
        f"http://127.0.0.1:{TORCHSERVE_INFERENCE_PORT}", description="TorchServe inference API"
    )
    torchserve_management_url: str = Field(
        f"http://127.0.0.1:{TORCHSERVE_MANAGEMENT_PORT}", description="TorchServe management API"
    )
    # Token authorization: keys from TorchServe's key_file.json (re-read when a key is refused), or given here.
    torchserve_key_file: Path | None = Field(None, description="TorchServe's key_file.json")
    torchserve_inference_key: SecretStr | None = None
    torchserve_management_key: SecretStr | None = None
    torchserve_api_key: SecretStr | None = None

    model_name: str = Field(MODEL_NAME, description="the model answering /predict by default")
    max_upload_bytes: int = Field(20 * 1024 * 1024, description="larger uploads get 413")
    # Shared with the handler (roadseg.limits), so the two cannot disagree: ROADSEG_MAX_PIXELS, no prefix.
    max_pixels: int = Field(
        DEFAULT_MAX_PIXELS, gt=0, validation_alias=MAX_PIXELS_ENV, description="images with more pixels get 413"
    )
    inference_timeout_s: float = Field(
        GATEWAY_INFERENCE_TIMEOUT_S, gt=0, description="a model server slower than this gets 504"
    )
    model_server_response_timeout_s: float = Field(
        TORCHSERVE_RESPONSE_TIMEOUT_S,
        gt=0,
        description="the model server's own response timeout (TorchServe's responseTimeout); must exceed the above",
    )
    connect_timeout_s: float = Field(3.0, description="TorchServe unreachable for this long gets 503")
    max_connections: int = Field(32, description="connection pool size towards TorchServe")
    retries: int = Field(2, ge=0, description="retries of a prediction whose model server worker died or restarts")
    retry_backoff_s: float = Field(0.25, ge=0, description="first retry's delay; doubled for each next one")
    lost_request_check_s: float = Field(
        1.0,
        ge=0,
        description="a prediction slower than this looks at TorchServe's workers (and again at this interval); "
        "if one restarts, which in TorchServe 0.12 can drop requests unanswered, it is sent again (0: off)",
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
        TORCHSERVE_BATCH_SIZE,
        gt=0,
        description="frames of a video at the model server at once (its batch size lets them share batches)",
    )
    video_frame_retries: int = Field(
        5, ge=0, description="times a frame is sent again while the model server restarts (its sends: 1 + this)"
    )
    video_results_keep_s: float = Field(
        VIDEO_RESULTS_KEEP_S, gt=0, description="finished videos' results are deleted after this"
    )
    video_dir: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "roadseg-videos",
        description="where uploads and results of video jobs are kept",
    )

    @model_validator(mode="after")
    def _timeouts_in_order(self) -> Settings:
        check_timeouts(self.inference_timeout_s, self.model_server_response_timeout_s)
        return self

    def predict_retry_policy(self) -> RetryPolicy:
        """/predict: 1 + `retries` sends within the inference timeout, from `retry_backoff_s`, doubling."""
        return RetryPolicy(self.retries + 1, self.retry_backoff_s, float("inf"), self.inference_timeout_s)

    def frame_retry_policy(self) -> RetryPolicy:
        """A video frame: 1 + `video_frame_retries` sends, delays doubling up to 2 s, within two inference timeouts
        (a worker restart takes a few seconds; the frames after it wait for it)."""
        return RetryPolicy(self.video_frame_retries + 1, self.retry_backoff_s, 2.0, 2 * self.inference_timeout_s)


@lru_cache
def get_settings() -> Settings:
    return Settings()
