"""WORKAROUND for TorchServe 0.12 dropping requests: when a worker dies, `BatchAggregator.getRequest` begins with
`cleanJobs()`, which clears without answering the jobs the dead worker's thread had taken for its next batch.
No answer ever comes for them. While a prediction is slow, the watchdog looks at the model's workers; once a
restart was seen after the request was sent, and the worker has been ready again for two check intervals, the
request was dropped: it is given up as a retryable error, to be sent again.

Switched off with GATEWAY_LOST_REQUEST_CHECK_S=0 (a TorchServe without the bug). What it learns of a model's
workers is forgotten once no request has asked for it for a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.errors import GatewayError
from gateway.model_server import ModelServerFailure, model_server_error

logger = logging.getLogger("gateway.torchserve")
Describe = Callable[[str, str | None], Awaitable[list[dict[str, Any]]]]


@dataclass
class WorkerLook:
    """What the management API said of a model version's workers (monotonic times)."""

    at: float
    pids: frozenset[int]
    ready: bool
    restart_seen_at: float | None = None
    ready_again_at: float | None = None


class LostRequestWatchdog:
    def __init__(self, describe: Describe, check_s: float, forget_after_s: float = 60.0):
        self.describe, self.check_s, self.forget_after_s = describe, check_s, forget_after_s
        self.looks: dict[str, WorkerLook] = {}

    @property
    def enabled(self) -> bool:
        return self.check_s > 0

    async def answer(
        self, sending: Coroutine[Any, Any, httpx.Response], model: str, version: str | None
    ) -> httpx.Response:
        """The answer to `sending`, or a retryable GatewayError once its worker restarted without answering it."""
        if not self.enabled:
            return await sending
        sent_at = time.monotonic()
        grace = 2 * self.check_s
        task = asyncio.ensure_future(sending)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.check_s)
                if done:
                    return task.result()
                look = await self.look(model, version)
                if (
                    look is not None
                    and look.restart_seen_at is not None
                    and look.restart_seen_at >= sent_at
                    and look.ready_again_at is not None
                    and time.monotonic() - look.ready_again_at >= grace
                ):
                    raise model_server_error(
                        ModelServerFailure.lost,
                        "the model server restarted the worker holding the request without answering it",
                        retryable=True,
                    )
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, GatewayError):
                    await task

    async def look(self, model: str, version: str | None) -> WorkerLook | None:
        """The model version's workers, with when a restart was last seen (a worker not READY, or another
        process than at the last look) and when all were READY again after it. Looks are shared for half a
        check interval; None before the first answer."""
        key = f"{model}/{version or ''}"
        now = time.monotonic()
        self.forget(now)
        previous = self.looks.get(key)
        if previous and now - previous.at < self.check_s / 2:
            return previous
        try:
            workers = [w for entry in await self.describe(model, version) for w in entry.get("workers", [])]
            pids = frozenset(int(w["pid"]) for w in workers if w.get("pid"))
        except (GatewayError, ValueError, KeyError, TypeError, AttributeError):
            return previous  # no answer, or not shaped as expected: nothing new learnt
        ready = bool(workers) and all(w.get("status") == "READY" for w in workers)
        look = WorkerLook(now, pids, ready)
        if previous is not None:
            look.restart_seen_at, look.ready_again_at = previous.restart_seen_at, previous.ready_again_at
        if not ready:
            look.restart_seen_at, look.ready_again_at = now, None
        elif previous is not None and pids != previous.pids:
            look.restart_seen_at = now  # restarted between two looks
            look.ready_again_at = now
        elif look.restart_seen_at is not None and look.ready_again_at is None:
            look.ready_again_at = now
        self.looks[key] = look
        return look

    def forget(self, now: float) -> None:
        """Drop the looks no request has needed for `forget_after_s`."""
        for key in [k for k, look in self.looks.items() if now - look.at > self.forget_after_s]:
            del self.looks[key]
