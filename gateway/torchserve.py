"""The gateway's only way to TorchServe: one shared async HTTP client, errors mapped to GatewayError."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.torchserve_keys import is_key_refusal, keys_from_settings
from roadseg.contract import MASK_AND_CONFIDENCE, MODEL_VERSION_HEADER, OUTPUT_HEADER

logger = logging.getLogger("gateway.torchserve")
# TorchServe's answers while a worker dies or restarts: 500 "Worker died.", 503 "no worker to serve", 507.
RETRYABLE_STATUS = frozenset({500, 502, 503, 507})


@dataclass
class Prediction:
    png: bytes
    model: str
    version: str
    inference_ms: float


@dataclass
class WorkerLook:
    """What the management API said of a model version's workers (monotonic times)."""

    at: float
    pids: frozenset[int]
    ready: bool
    restart_seen_at: float | None = None
    ready_again_at: float | None = None


def _describe_target(model: str, version: str | None) -> str:
    return f"model {model!r}" + (f" version {version!r}" if version else "")


def _message(response: httpx.Response) -> str:
    try:
        return str(json.loads(response.content).get("message", "")) or response.text[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


class TorchServeClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None):
        self.settings = settings
        self.inference_url = settings.torchserve_inference_url.rstrip("/")
        self.management_url = settings.torchserve_management_url.rstrip("/")
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.inference_timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
            ),
        )
        self.keys = keys_from_settings(settings)
        self._default_versions: dict[str, tuple[float, str]] = {}
        self._worker_looks: dict[str, WorkerLook] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _request(
        self, kind: str, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send with the kind's key; on a refused key, reload or regenerate it once and retry."""
        try:
            response = await self.http.request(
                method, url, headers={**(headers or {}), **self.keys.header(kind)}, **kwargs
            )
            if not is_key_refusal(response.status_code, response.content):
                return response
            before = self.keys.get(kind)
            self.keys.reload()
            if self.keys.get(kind) == before and self.keys.get("api"):
                await self.http.get(
                    f"{self.management_url}/token", params={"type": kind}, headers=self.keys.header("api")
                )
                self.keys.reload()
            return await self.http.request(method, url, headers={**(headers or {}), **self.keys.header(kind)}, **kwargs)
        except httpx.TimeoutException as error:
            if isinstance(error, httpx.ConnectTimeout):
                raise GatewayError(
                    503, "torchserve_unavailable", "the model server does not answer (connection timed out)"
                ) from None
            raise GatewayError(
                504,
                "torchserve_timeout",
                f"the model server did not answer within {self.settings.inference_timeout_s:g} s; try again later",
            ) from None
        except httpx.TransportError as error:
            raise GatewayError(
                503, "torchserve_unavailable", f"the model server is not reachable ({type(error).__name__})"
            ) from None

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if is_key_refusal(status, response.content):
            raise GatewayError(
                503, "torchserve_unauthorized", "the gateway's TorchServe key was refused; check its key settings"
            )
        if status == 404:
            raise GatewayError(404, "model_not_found", f"{what} is not registered on the model server")
        if status == 400:
            raise GatewayError(400, "invalid_image", _message(response))
        if status in (503, 507):
            raise GatewayError(503, "torchserve_busy", f"the model server cannot take {what} now: {_message(response)}")
        if status == 408:
            raise GatewayError(504, "torchserve_timeout", f"{what} timed out on the model server")
        raise GatewayError(
            502, "torchserve_error", f"the model server failed on {what} ({status}): {_message(response)}"
        )

    async def describe(self, model: str, version: str | None = None) -> list[dict[str, Any]]:
        """TorchServe's description of a model version (the default one when `version` is None)."""
        url = f"{self.management_url}/models/{model}" + (f"/{version}" if version else "")
        response = await self._request("management", "GET", url)
        self._raise_for_status(response, _describe_target(model, version))
        described: list[dict[str, Any]] = response.json()
        return described

    async def default_version(self, model: str) -> str:
        cached = self._default_versions.get(model)
        if cached and time.monotonic() - cached[0] < self.settings.version_cache_s:
            return cached[1]
        version = str((await self.describe(model))[0]["modelVersion"])
        self._default_versions[model] = (time.monotonic(), version)
        return version

    async def list_models(self) -> list[dict[str, Any]]:
        """Every registered model with all its versions, the default one marked."""
        response = await self._request("management", "GET", f"{self.management_url}/models", params={"limit": 1000})
        self._raise_for_status(response, "the model list")
        models = []
        for entry in response.json().get("models", []):
            name = entry["modelName"]
            default = await self.default_version(name)
            versions = await self.describe(name, "all")
            models.append(
                {
                    "name": name,
                    "default_version": default,
                    "versions": [
                        {
                            "version": str(v["modelVersion"]),
                            "is_default": str(v["modelVersion"]) == default,
                            "archive": v.get("modelUrl"),
                            "batch_size": v.get("batchSize"),
                            "workers": len(v.get("workers", [])),
                            "workers_ready": sum(w.get("status") == "READY" for w in v.get("workers", [])),
                        }
                        for v in versions
                    ],
                }
            )
        return models

    async def _post_with_retries(
        self, url: str, image: bytes, headers: dict[str, str], model: str, version: str | None
    ) -> httpx.Response:
        """POST, retried (inference is idempotent) while TorchServe's worker dies or restarts, or TorchServe
        is unreachable, with a doubling backoff inside the request's timeout. The client's own errors
        (4xx) are not retried, nor are timeouts (the work may still be queued), except a request whose
        worker was restarted while it waited: TorchServe 0.12 drops without an answer the jobs that a
        dying worker had taken for its next batch (`BatchAggregator.cleanJobs`)."""
        deadline = time.monotonic() + self.settings.inference_timeout_s
        for attempt in range(self.settings.retries + 1):
            remaining = max(0.1, deadline - time.monotonic())
            timeout = httpx.Timeout(remaining, connect=min(self.settings.connect_timeout_s, remaining))
            try:
                sending = self._request("inference", "POST", url, headers, content=image, timeout=timeout)
                response = await self._unless_lost(sending, model, version)
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                failure: GatewayError | httpx.Response = response
                reason = f"{response.status_code} {_message(response)}"
            except GatewayError as error:
                if error.error not in ("torchserve_unavailable", "torchserve_lost_request"):
                    raise
                failure, reason = error, error.message
            delay = self.settings.retry_backoff_s * 2**attempt
            if attempt == self.settings.retries or time.monotonic() + delay >= deadline:
                break
            logger.warning(
                "TorchServe failed on %s (%s); retry %d of %d in %.2f s",
                url,
                reason,
                attempt + 1,
                self.settings.retries,
                delay,
            )
            await asyncio.sleep(delay)
        if isinstance(failure, GatewayError):
            raise failure
        return failure

    async def _unless_lost(
        self, sending: Coroutine[Any, Any, httpx.Response], model: str, version: str | None
    ) -> httpx.Response:
        """The answer. While it is slow, every `lost_request_check_s` look at the model's workers. If a worker
        restart was seen after the request was sent and the worker has been ready again for two check
        intervals without answering it, it was dropped: give it up (a retryable GatewayError) to send again."""
        sent_at = time.monotonic()
        grace = 2 * self.settings.lost_request_check_s
        task = asyncio.ensure_future(sending)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.settings.lost_request_check_s)
                if done:
                    return task.result()
                look = await self._look_at_workers(model, version)
                if (
                    look is not None
                    and look.restart_seen_at is not None
                    and look.restart_seen_at >= sent_at
                    and look.ready_again_at is not None
                    and time.monotonic() - look.ready_again_at >= grace
                ):
                    raise GatewayError(
                        503,
                        "torchserve_lost_request",
                        "the model server restarted the worker holding the request without answering it",
                    )
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, GatewayError):
                    await task

    async def _look_at_workers(self, model: str, version: str | None) -> WorkerLook | None:
        """The model version's workers as the management API describes them, with when a restart was last seen
        (a worker not READY, or another process than at the last look) and when all were READY again after
        it. Looks are shared for half a check interval; None before the first answer."""
        key = f"{model}/{version or ''}"
        previous = self._worker_looks.get(key)
        now = time.monotonic()
        if previous and now - previous.at < self.settings.lost_request_check_s / 2:
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
        self._worker_looks[key] = look
        return look

    async def predict(self, image: bytes, model: str, version: str | None, with_confidence: bool = False) -> Prediction:
        """The mask PNG (8-bit ids; with `with_confidence`, 2 channels: ids and confidence) and who answered."""
        url = f"{self.inference_url}/predictions/{model}" + (f"/{version}" if version else "")
        started = time.perf_counter()
        headers = {OUTPUT_HEADER: MASK_AND_CONFIDENCE} if with_confidence else {}
        response = await self._post_with_retries(url, image, headers, model, version)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._raise_for_status(response, _describe_target(model, version))
        if response.headers.get("content-type", "").split(";")[0] != "image/png":
            raise GatewayError(
                502, "torchserve_error", "the model server answered with something other than a PNG mask"
            )
        # The handler names the version that answered; older archives do not, so fall back on the request.
        answered = response.headers.get(MODEL_VERSION_HEADER) or version or await self.default_version(model)
        return Prediction(response.content, model, answered, elapsed_ms)
