"""GET /health, /health/live, /categories, /models: the service's state, vocabulary and model versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.config import Settings
from gateway.deps import get_app_settings, get_torchserve
from gateway.errors import ErrorBody, GatewayError, error_response
from gateway.torchserve import TorchServeClient
from roadseg.categories import CATEGORIES

router = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str
    model: str
    version: str
    workers_ready: int


class Liveness(BaseModel):
    status: str


class CategoryOut(BaseModel):
    id: int
    name: str
    color: tuple[int, int, int]


class VersionOut(BaseModel):
    version: str
    is_default: bool
    archive: str | None
    batch_size: int | None
    workers: int
    workers_ready: int


class ModelOut(BaseModel):
    name: str
    default_version: str
    versions: list[VersionOut]


@router.get(
    "/health",
    response_model=Health,
    summary="Gateway up and the default model ready",
    responses={503: {"model": ErrorBody, "description": "TorchServe down, or no worker of the model ready"}},
)
async def health(
    settings: Annotated[Settings, Depends(get_app_settings)],
    torchserve: Annotated[TorchServeClient, Depends(get_torchserve)],
) -> Health | JSONResponse:
    try:
        description = (await torchserve.describe(settings.model_name))[0]
    except GatewayError as error:
        return error_response(503, "unavailable", error.message)
    ready = sum(w.get("status") == "READY" for w in description.get("workers", []))
    if not ready:
        return error_response(503, "unavailable", f"model {settings.model_name!r} has no worker ready yet")
    return Health(status="ok", model=settings.model_name, version=str(description["modelVersion"]), workers_ready=ready)


@router.get(
    "/health/live",
    response_model=Liveness,
    summary="The gateway process answers (liveness: TorchServe is not asked, /health is readiness)",
)
async def live() -> Liveness:
    return Liveness(status="ok")


@router.get("/categories", response_model=list[CategoryOut], summary="The 8 categories: ids, names, colours")
async def categories() -> list[CategoryOut]:
    return [CategoryOut(id=c.id, name=c.name, color=c.color) for c in CATEGORIES]


@router.get(
    "/models",
    response_model=list[ModelOut],
    summary="Registered models and versions (TorchServe)",
    responses={503: {"model": ErrorBody, "description": "TorchServe's management API unreachable"}},
)
async def models(torchserve: Annotated[TorchServeClient, Depends(get_torchserve)]) -> list[dict[str, Any]]:
    return await torchserve.list_models()
