"""HTTP to TorchServe: one shared async client, the key of each API (refreshed when refused), and TorchServe's
answers and transport failures mapped to the gateway's neutral errors."""

from __future__ import annotations

import json
from typing import Any

import httpx

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.model_server import ModelServerFailure, model_server_error
from gateway.torchserve.keys import is_key_refusal, keys_from_settings

# TorchServe's answers while a worker dies or restarts: 500 "Worker died.", 503 "no worker to serve", 507.
RETRYABLE_STATUS = frozenset({500, 502, 503, 507})


def answer_message(response: httpx.Response) -> str:
    try:
        return str(json.loads(response.content).get("message", "")) or response.text[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


def describe_target(model: str, version: str | None) -> str:
    return f"model {model!r}" + (f" version {version!r}" if version else "")


class TorchServeHttp:
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

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self, kind: str, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send with the kind's key; on a refused key, reload or regenerate it once and send again. Transport
        failures become the neutral errors (unreachable: retryable; a timeout: not, the work may be queued)."""
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
                raise model_server_error(
                    ModelServerFailure.unavailable,
                    "the model server does not answer (connection timed out)",
                    retryable=True,
                ) from None
            raise model_server_error(
                ModelServerFailure.timeout,
                f"the model server did not answer within {self.settings.inference_timeout_s:g} s; try again later",
            ) from None
        except httpx.TransportError as error:
            raise model_server_error(
                ModelServerFailure.unavailable,
                f"the model server is not reachable ({type(error).__name__})",
                retryable=True,
            ) from None

    def raise_for_status(self, response: httpx.Response, what: str) -> None:
        """A GatewayError for an error answer (retryable where a worker dies or restarts)."""
        status = response.status_code
        if status < 400:
            return
        if is_key_refusal(status, response.content):
            raise model_server_error(
                ModelServerFailure.unauthorized, "the gateway's model-server key was refused; check its key settings"
            )
        if status == 404:
            raise GatewayError(404, "model_not_found", f"{what} is not registered on the model server")
        if status == 400:
            raise GatewayError(400, "invalid_image", answer_message(response))
        retryable = status in RETRYABLE_STATUS
        if status in (503, 507):
            raise model_server_error(
                ModelServerFailure.busy,
                f"the model server cannot take {what} now: {answer_message(response)}",
                retryable=retryable,
            )
        if status == 408:
            raise model_server_error(ModelServerFailure.timeout, f"{what} timed out on the model server")
        raise model_server_error(
            ModelServerFailure.failed,
            f"the model server failed on {what} ({status}): {answer_message(response)}",
            retryable=retryable,
        )
