"""The gateway app: `uvicorn gateway.main:app` or `python -m gateway`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.admission import AdmissionControl
from gateway.config import Settings, get_settings
from gateway.errors import error_response, install_error_handlers
from gateway.routes import predict, service, videos
from gateway.torchserve.server import TorchServeModelServer
from gateway.uploads import declared_too_large, upload_too_large
from gateway.videos.store import JobStore

DESCRIPTION = """Road-scene segmentation into the 8 Cityscapes categories
(void 0, flat 1, construction 2, object 3, nature 4, sky 5, human 6, vehicle 7).

`POST /predict` with a multipart field `file` returns a PNG of the image's size (or JSON: shares, COCO RLE).
`POST /videos` takes a dashcam clip and returns a job to poll; its result is an overlay MP4. Every error is
JSON: `{"error": "<type>", "message": "<what went wrong>"}`."""


class RefuseOversizedBodies:
    """413 before reading a body whose declared length is over the limit (plus multipart overhead), and
    close the connection; `limits` holds other limits for given paths (e.g. videos). Plain ASGI: nothing
    wraps the other requests' responses."""

    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int] | None = None):
        self.app, self.limit, self.limits = app, limit, limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.limits.get(scope["path"], self.limit)
            if declared_too_large(Headers(scope=scope).get("content-length"), limit):
                refusal = upload_too_large(limit)
                response = error_response(413, refusal.error, refusal.message, headers={"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Decoding and rendering run in worker threads: no more of them at once than there are cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.model_server = TorchServeModelServer(settings)
        app.state.jobs = JobStore(
            settings.video_dir,
            app.state.model_server,
            capacity=settings.video_jobs,
            workers=settings.video_workers,
            frames_in_flight=settings.video_frames_in_flight,
            keep_s=settings.video_results_keep_s,
            frame_retry=settings.frame_retry_policy(),
        )
        app.state.jobs.start()
        yield
        await app.state.jobs.stop()
        await app.state.model_server.aclose()

    app = FastAPI(title="roadseg gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    # Outermost last: an oversized body is refused before it takes an admission slot.
    app.add_middleware(AdmissionControl, in_flight=settings.max_in_flight, queued=settings.max_queued)
    app.add_middleware(
        RefuseOversizedBodies, limit=settings.max_upload_bytes, limits={"/videos": settings.max_video_bytes}
    )
    app.include_router(predict.router)
    app.include_router(videos.router)
    app.include_router(service.router)
    return app


app = create_app()
