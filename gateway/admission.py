"""Backpressure: a bounded number of predictions at TorchServe and a short queue; beyond, 503 at once."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import RETRY_AFTER_S, error_response

logger = logging.getLogger("gateway.admission")


class AdmissionControl:
    """Plain ASGI around POST `path`: at most `in_flight` requests run, `queued` more wait for a slot, and
    any further one gets 503 with Retry-After before its body is read. The others are untouched."""

    def __init__(self, app: ASGIApp, in_flight: int, queued: int, path: str = "/predict"):
        self.app, self.path = app, path
        self.in_flight, self.limit = in_flight, in_flight + queued
        self.admitted = 0
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.admitted >= self.limit:
            logger.warning("refused a prediction: %d admitted, the limit is %d", self.admitted, self.limit)
            response = error_response(
                503,
                "busy",
                f"the service is busy ({self.admitted} requests in progress or waiting); try again in a moment",
                headers={"Retry-After": str(RETRY_AFTER_S), "Connection": "close"},
            )
            await response(scope, receive, send)
            return
        self._slots = self._slots or asyncio.Semaphore(self.in_flight)
        self.admitted += 1
        try:
            async with self._slots:
                await self.app(scope, receive, send)
        finally:
            self.admitted -= 1
