"""TorchServe as the gateway's model server (`gateway.model_server.ModelServer`)."""

from __future__ import annotations

import time

import httpx

from gateway.config import Settings
from gateway.model_server import (
    ModelEntry,
    ModelHealth,
    ModelServerFailure,
    Prediction,
    model_server_error,
)
from gateway.retry import RetryPolicy, with_retries
from gateway.torchserve.management import TorchServeManagement
from gateway.torchserve.transport import TorchServeHttp, describe_target
from gateway.torchserve.watchdog import LostRequestWatchdog
from roadseg.contract import MASK_AND_CONFIDENCE, MODEL_VERSION_HEADER, OUTPUT_HEADER


class TorchServeModelServer:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None):
        self.transport = TorchServeHttp(settings, http)
        self.management = TorchServeManagement(self.transport, settings.version_cache_s)
        self.watchdog = LostRequestWatchdog(self.management.describe, settings.lost_request_check_s)
        self.retry = settings.predict_retry_policy()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def predict(
        self,
        image: bytes,
        model: str,
        version: str | None = None,
        with_confidence: bool = False,
        retry: RetryPolicy | None = None,
    ) -> Prediction:
        """POST to TorchServe's inference API, sent again (inference is idempotent) while its worker dies or
        restarts, or it is unreachable, or it dropped the request (`watchdog`); never for the client's own
        errors (4xx) nor for timeouts (the work may still be queued)."""
        url = f"{self.transport.inference_url}/predictions/{model}" + (f"/{version}" if version else "")
        headers = {OUTPUT_HEADER: MASK_AND_CONFIDENCE} if with_confidence else {}
        what = describe_target(model, version)
        started = time.perf_counter()

        async def send(seconds_left: float) -> httpx.Response:
            timeout = httpx.Timeout(seconds_left, connect=min(self.transport.settings.connect_timeout_s, seconds_left))
            sending = self.transport.request("inference", "POST", url, headers, content=image, timeout=timeout)
            response = await self.watchdog.answer(sending, model, version)
            self.transport.raise_for_status(response, what)
            return response

        response = await with_retries(send, retry or self.retry, what)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.headers.get("content-type", "").split(";")[0] != "image/png":
            raise model_server_error(
                ModelServerFailure.failed, "the model server answered with something other than a PNG mask"
            )
        answered = response.headers.get(MODEL_VERSION_HEADER)
        if not answered:
            raise model_server_error(
                ModelServerFailure.failed, f"the model server did not say which version answered ({what})"
            )
        return Prediction(response.content, model, answered, elapsed_ms)

    async def list_models(self) -> list[ModelEntry]:
        return await self.management.list_models()

    async def health(self, model: str) -> ModelHealth:
        described = (await self.management.describe(model))[0]
        ready = sum(w.get("status") == "READY" for w in described.get("workers", []))
        return ModelHealth(str(described["modelVersion"]), ready)

    async def set_default(self, model: str, version: str) -> None:
        await self.management.set_default(model, version)
