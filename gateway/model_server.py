"""The gateway's port to a model server: what the routes and the video jobs ask of it, whatever serves the
model. `gateway.torchserve` is the adapter for TorchServe; nothing else in the gateway knows its API.

Failures come as GatewayErrors with the neutral codes below (what happened, not which server said it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from gateway.errors import GatewayError
from gateway.retry import RetryPolicy


class ModelServerFailure(StrEnum):
    """Public error codes of what went wrong at the model server, with their HTTP status."""

    unavailable = "model_server_unavailable"  # unreachable, or not answering connections
    busy = "model_server_busy"  # restarting, no worker ready, or its queue is full
    timeout = "model_server_timeout"  # no answer within the gateway's inference timeout
    failed = "model_server_error"  # an error answer, or one that is not a mask
    unauthorized = "model_server_unauthorized"  # the gateway's key was refused
    lost = "model_server_lost_request"  # the server dropped the request unanswered (sent again)

    @property
    def status_code(self) -> int:
        return {"model_server_timeout": 504, "model_server_error": 502}.get(self.value, 503)


def model_server_error(failure: ModelServerFailure, message: str, retryable: bool = False) -> GatewayError:
    return GatewayError(failure.status_code, failure.value, message, retryable=retryable)


@dataclass(frozen=True)
class Prediction:
    """A mask PNG (8-bit ids; 2 channels with the confidence when asked) and who answered, how fast."""

    png: bytes
    model: str
    version: str
    inference_ms: float


@dataclass(frozen=True)
class ModelVersion:
    version: str
    is_default: bool
    workers: int
    workers_ready: int
    archive: str | None = None
    batch_size: int | None = None
    details: dict[str, object] = field(default_factory=dict)  # what the model says of itself (e.g. its dataset)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    default_version: str
    versions: list[ModelVersion]


@dataclass(frozen=True)
class ModelHealth:
    version: str  # the default version
    workers_ready: int


class ModelServer(Protocol):
    async def predict(
        self,
        image: bytes,
        model: str,
        version: str | None = None,
        with_confidence: bool = False,
        retry: RetryPolicy | None = None,
    ) -> Prediction:
        """The mask of one image by `model` (its default version unless `version`), sent again under `retry`
        (the server's default policy when None) while the failure is retryable."""
        ...

    async def list_models(self) -> list[ModelEntry]: ...

    async def health(self, model: str) -> ModelHealth: ...

    async def set_default(self, model: str, version: str) -> None: ...

    async def aclose(self) -> None: ...
