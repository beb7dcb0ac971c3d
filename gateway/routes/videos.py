"""Video jobs: POST /videos (a dashcam clip in, a job id out at once), GET /videos/{id} (progress), then the
overlay MP4 and, when asked for, a ZIP of the per-frame masks."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gateway.deps import JobsDep, SettingsDep
from gateway.errors import GatewayError
from gateway.routes.params import ModelName, ModelVersion, error_docs
from gateway.uploads import save_upload
from gateway.videos.codec import VideoInfo, probe_video
from gateway.videos.job import Job, JobRequest, JobStatus
from gateway.videos.store import JobStore

router = APIRouter(tags=["video"])
JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="the id POST /videos returned")


class VideoJob(BaseModel):
    id: str
    status: JobStatus
    frames_done: int
    frames_total: int = Field(description="from the container (an estimate for some); exact once done")
    fps: float
    width: int
    height: int
    seconds: float = Field(description="the clip's duration")
    model: str | None = Field(description="the model and version that answered (once a frame is done)")
    version: str | None
    error: str | None = None
    processing_seconds: float | None = None
    video_url: str | None = Field(description="the overlay MP4, once done")
    masks_url: str | None = Field(description="ZIP of the per-frame masks (PNG, category ids), once done, if asked")


def describe(job: Job, request: Request) -> VideoJob:
    done = job.status is JobStatus.done
    return VideoJob(
        id=job.id,
        status=job.status,
        frames_done=job.frames_done,
        frames_total=job.frames_done if done else max(job.info.frames, job.frames_done),
        fps=round(float(job.info.fps), 3),
        width=job.info.width,
        height=job.info.height,
        seconds=round(job.info.seconds, 3),
        model=job.model,
        version=job.version,
        error=job.error,
        processing_seconds=None if job.seconds is None else round(job.seconds, 2),
        video_url=str(request.url_for("video_result", job_id=job.id)) if done else None,
        masks_url=str(request.url_for("video_masks", job_id=job.id)) if done and job.request.with_masks else None,
    )


VIDEO_ERRORS = {
    400: "Empty upload.",
    404: "Unknown job, or its results expired.",
    409: "The job has not finished yet, or failed.",
    413: "Upload over the byte limit, video longer than allowed, or frames with too many pixels.",
    415: "Not a readable MP4, MOV, AVI or MKV video.",
    422: "Malformed request, e.g. no multipart field named 'file'.",
    503: "Too many videos waiting or being segmented; retry after the Retry-After header's seconds.",
}


@router.post(
    "/videos",
    status_code=202,
    response_model=VideoJob,
    summary="Segment a dashcam clip: returns a job at once; poll GET /videos/{id}",
    responses=error_docs(VIDEO_ERRORS, 400, 413, 415, 422, 503),
)
async def submit_video(
    request: Request,
    file: Annotated[
        UploadFile,
        File(description="the clip: MP4, MOV, AVI or MKV; not empty", json_schema_extra={"minLength": 1}),
    ],
    settings: SettingsDep,
    jobs: JobsDep,
    masks: Annotated[bool, Query(description="also keep every frame's mask (PNG, category ids) in a ZIP")] = False,
    alpha: Annotated[float, Query(ge=0.0, le=1.0, description="weight of the colours in the overlay video")] = 0.5,
    model: ModelName = None,
    version: ModelVersion = None,
) -> JSONResponse:

    async def fill(upload: FilePath) -> VideoInfo:
        await save_upload(file, upload, settings.max_video_bytes, "video")
        return await run_in_threadpool(probe_video, upload, settings.max_video_seconds, settings.max_pixels)

    job = await jobs.create(JobRequest(model or settings.model_name, version, alpha, masks), fill)
    url = str(request.url_for("video_status", job_id=job.id))
    return JSONResponse(describe(job, request).model_dump(mode="json"), status_code=202, headers={"Location": url})


@router.get(
    "/videos/{job_id}",
    response_model=VideoJob,
    summary="A video job's progress",
    responses=error_docs(VIDEO_ERRORS, 404),
)
async def video_status(request: Request, job_id: Annotated[str, JOB_ID], jobs: JobsDep) -> VideoJob:
    return describe(jobs.get(job_id), request)


def finished(jobs: JobStore, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job.status is not JobStatus.done:
        detail = f": {job.error}" if job.error else f" ({job.frames_done} frames done)"
        raise GatewayError(409, "job_not_done", f"video job {job_id} is {job.status.value}{detail}")
    return job


@router.get(
    "/videos/{job_id}/video",
    response_class=FileResponse,
    summary="The overlay video (H.264 MP4)",
    responses={200: {"content": {"video/mp4": {}}}, **error_docs(VIDEO_ERRORS, 404, 409)},
)
async def video_result(job_id: Annotated[str, JOB_ID], jobs: JobsDep) -> FileResponse:
    job = finished(jobs, job_id)
    return FileResponse(job.video, media_type="video/mp4", filename=f"{job_id}_overlay.mp4")


@router.get(
    "/videos/{job_id}/masks",
    response_class=FileResponse,
    summary="Every frame's mask (PNG, pixel = category id) in a ZIP, when the job asked for it",
    responses={200: {"content": {"application/zip": {}}}, **error_docs(VIDEO_ERRORS, 404, 409)},
)
async def video_masks(job_id: Annotated[str, JOB_ID], jobs: JobsDep) -> FileResponse:
    job = finished(jobs, job_id)
    if not job.request.with_masks:
        raise GatewayError(404, "no_masks", f"video job {job_id} did not ask for masks (POST /videos?masks=true)")
    return FileResponse(job.masks, media_type="application/zip", filename=f"{job_id}_masks.zip")


@router.delete(
    "/videos/{job_id}",
    status_code=204,
    summary="Stop a video job and delete its files",
    responses=error_docs(VIDEO_ERRORS, 404),
)
async def delete_video(job_id: Annotated[str, JOB_ID], jobs: JobsDep) -> None:
    jobs.delete(job_id)
