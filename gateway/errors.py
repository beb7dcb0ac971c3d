"""Errors as typed exceptions that render as JSON: {"error": type, "message": text a person understands}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match


class ErrorBody(BaseModel):
    error: str
    message: str


RETRY_AFTER_S = 1  # seconds: a TorchServe worker restarts in about one, a full gateway drains in a few


class GatewayError(Exception):
    """An error answer. A 503 (the model server down, restarting or busy) tells the client when to try again;
    `retryable`: sending the same request again may succeed (the retry policy's cue, never the client's)."""

    def __init__(
        self, status_code: int, error: str, message: str, retry_after_s: int | None = None, retryable: bool = False
    ):
        super().__init__(message)
        self.status_code, self.error, self.message, self.retryable = status_code, error, message, retryable
        if retry_after_s is None and status_code == 503:
            retry_after_s = RETRY_AFTER_S
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


def error_response(status_code: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(error=error, message=message).model_dump(), status_code=status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        if err.get("type") == "missing" and where == "file":
            parts.append("no file received: send the image as a multipart/form-data field named 'file'")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc.status_code, exc.error, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first matching route's methods only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return error_response(exc.status_code, error, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", "the gateway failed unexpectedly; the error was logged")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route fully matches on this path (one path may be served by several routes)."""
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            allowed.append(method)
    return allowed
