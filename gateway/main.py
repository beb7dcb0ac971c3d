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
from gateway.routes import predict, service
from gateway.torchserve import TorchServeClient

DESCRIPTION = """Road-scene segmentation into the 8 Cityscapes categories
(void 0, flat 1, construction 2, object 3, nature 4, sky 5, human 6, vehicle 7).

`POST /predict` with a multipart field `file` returns a PNG of the image's size. Every error is JSON:
`{"error": "<type>", "message": "<what went wrong>"}`."""


class RefuseOversizedBodies:
    """413 before reading a body whose declared length is over the limit (plus multipart overhead), and
    close the connection. Plain ASGI: nothing wraps the other requests' responses."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length")
            if declared and declared.isdigit() and int(declared) > self.limit + 64 * 1024:
                response = error_response(
                    413,
                    "upload_too_large",
                    f"the upload is larger than the {self.limit / 2**20:.0f} MiB limit",
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Decoding and rendering run in worker threads: no more of them at once than there are cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.torchserve = TorchServeClient(settings)
        yield
        await app.state.torchserve.aclose()

    app = FastAPI(title="roadseg gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    # Outermost last: an oversized body is refused before it takes an admission slot.
    app.add_middleware(AdmissionControl, in_flight=settings.max_in_flight, queued=settings.max_queued)
    app.add_middleware(RefuseOversizedBodies, limit=settings.max_upload_bytes)
    app.include_router(predict.router)
    app.include_router(service.router)
    return app


app = create_app()
