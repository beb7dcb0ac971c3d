"""The app's only way to the model: the gateway's HTTP API. Every failure becomes a sentence for the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, Field


class GatewayProblem(Exception):
    """Something a person should read: the gateway is down, slow, or refused the file."""


class Category(BaseModel):
    id: int
    name: str
    color: tuple[int, int, int]


class ModelVersionInfo(BaseModel):
    version: str
    is_default: bool
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def dataset(self) -> str | None:
        """The dataset the version was trained on, as its archive says."""
        dataset = self.details.get("dataset")
        return str(dataset) if dataset else None


class ModelInfo(BaseModel):
    name: str
    is_default: bool = False  # the model the gateway answers with when none is named
    default_version: str
    versions: list[ModelVersionInfo]


class VideoJob(BaseModel):
    id: str
    status: str
    frames_done: int
    frames_total: int
    width: int
    height: int
    model: str | None = None
    version: str | None = None
    error: str | None = None
    processing_seconds: float | None = None
    video_url: str | None = None
    masks_url: str | None = None


@dataclass(frozen=True)
class Segmentation:
    mask_png: bytes
    model: str
    version: str
    inference_ms: float


class GatewayClient:
    def __init__(self, base_url: str, timeout_s: float = 60.0):
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout_s, connect=5.0))

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise GatewayProblem(
                f"The segmentation service did not answer {what} within {self.timeout_s:g} s. "
                "It may be busy: try again in a moment."
            ) from None
        except httpx.TransportError:
            raise GatewayProblem(
                f"The segmentation service at {self.base_url} is not reachable. Is the gateway running?"
            ) from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text[:200] or response.reason_phrase
            if response.status_code >= 500:
                raise GatewayProblem(f"The segmentation service could not answer {what}: {message}")
            raise GatewayProblem(f"The segmentation service refused {what}: {message}")
        return response

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self._call("GET", "/health", "the health check").json()
        return health

    def categories(self) -> list[Category]:
        return [Category.model_validate(c) for c in self._call("GET", "/categories", "the category list").json()]

    def models(self) -> list[ModelInfo]:
        return [ModelInfo.model_validate(m) for m in self._call("GET", "/models", "the model list").json()]

    def segment(
        self, filename: str, data: bytes, model: str | None = None, version: str | None = None, format: str = "raw"
    ) -> Segmentation:
        """The mask (format raw) or another PNG rendering (e.g. confidence) of one image, and who answered."""
        params = {k: v for k, v in (("model", model), ("version", version), ("format", format)) if v}
        response = self._call(
            "POST",
            "/predict",
            f"'{filename}'",
            params=params,
            files={"file": (filename, data, "application/octet-stream")},
        )
        if response.headers.get("content-type") != "image/png":
            raise GatewayProblem(f"The segmentation service answered '{filename}' with something other than a PNG.")
        return Segmentation(
            response.content,
            response.headers.get("x-model-name", "?"),
            response.headers.get("x-model-version", "?"),
            float(response.headers.get("x-inference-time-ms", "nan")),
        )

    def submit_video(
        self,
        filename: str,
        data: bytes,
        with_masks: bool,
        alpha: float,
        model: str | None = None,
        version: str | None = None,
    ) -> VideoJob:
        """Start a video job; the job as the gateway describes it (id, status, frames...)."""
        params = {"masks": str(with_masks).lower(), "alpha": f"{alpha:g}"}
        params |= {k: v for k, v in (("model", model), ("version", version)) if v}
        files = {"file": (filename, data, "application/octet-stream")}
        return VideoJob.model_validate(
            self._call("POST", "/videos", f"'{filename}'", params=params, files=files).json()
        )

    def video_job(self, job_id: str) -> VideoJob:
        return VideoJob.model_validate(self._call("GET", f"/videos/{job_id}", "the video's progress").json())

    def download(self, url: str, what: str) -> bytes:
        """A result the gateway links to (its path, asked of the configured gateway)."""
        return self._call("GET", httpx.URL(url).path, what).content
