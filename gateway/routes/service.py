"""GET /health, /health/live, /categories, /models: the service's state, vocabulary and model versions."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.deps import ModelServerDep, SettingsDep
from gateway.errors import ErrorBody, GatewayError, error_response
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
    details: dict[str, object] = Field(
        default_factory=dict,
        description="what the model says of itself: dataset it was trained on, architecture, inference scale, "
        "runtime and precision",
    )


class ModelOut(BaseModel):
    name: str
    is_default: bool = Field(description="whether /predict and /videos answer with this model when none is named")
    default_version: str
    versions: list[VersionOut]


@router.get(
    "/health",
    response_model=Health,
    summary="Gateway up and the default model ready",
    responses={503: {"model": ErrorBody, "description": "TorchServe down, or no worker of the model ready"}},
)
async def health(settings: SettingsDep, model_server: ModelServerDep) -> Health | JSONResponse:
    try:
        state = await model_server.health(settings.model_name)
    except GatewayError as error:
        return error_response(503, "unavailable", error.message)
    if not state.workers_ready:
        return error_response(503, "unavailable", f"model {settings.model_name!r} has no worker ready yet")
    return Health(status="ok", model=settings.model_name, version=state.version, workers_ready=state.workers_ready)


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
    summary="Registered models and versions, each with what it was trained on",
    responses={503: {"model": ErrorBody, "description": "The model server's catalogue unreachable"}},
)
async def models(settings: SettingsDep, model_server: ModelServerDep) -> list[ModelOut]:
    """The default model first, then the others (e.g. the real-time model) by name."""
    entries = sorted(await model_server.list_models(), key=lambda e: (e.name != settings.model_name, e.name))
    return [ModelOut(**asdict(entry), is_default=entry.name == settings.model_name) for entry in entries]
