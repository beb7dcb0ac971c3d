"""The gateway app: `uvicorn gateway.main:app` or `python -m gateway`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from gateway.config import Settings, get_settings
from gateway.errors import error_response, install_error_handlers
from gateway.routes import predict, service
from gateway.torchserve import TorchServeClient

DESCRIPTION = """Road-scene segmentation into the 8 Cityscapes categories
(void 0, flat 1, construction 2, object 3, nature 4, sky 5, human 6, vehicle 7).

`POST /predict` with a multipart field `file` returns a PNG of the image's size. Every error is JSON:
`{"error": "<type>", "message": "<what went wrong>"}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.torchserve = TorchServeClient(settings)
        yield
        await app.state.torchserve.aclose()

    app = FastAPI(title="roadseg gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)

    @app.middleware("http")
    async def refuse_oversized_bodies(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """413 before reading a body whose declared length is over the limit (plus multipart overhead)."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 64 * 1024:
            return error_response(
                413,
                "upload_too_large",
                f"the upload is larger than the {settings.max_upload_bytes / 2**20:.0f} MiB limit",
                headers={"Connection": "close"},
            )
        return await call_next(request)

    app.include_router(predict.router)
    app.include_router(service.router)
    return app


app = create_app()
