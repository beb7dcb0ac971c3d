"""FastAPI dependencies, as `Annotated` aliases the routes declare: the settings, the model server, the video jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.config import Settings
from gateway.model_server import ModelServer
from gateway.videos.store import JobStore


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_model_server(request: Request) -> ModelServer:
    server: ModelServer = request.app.state.model_server
    return server


def get_jobs(request: Request) -> JobStore:
    jobs: JobStore = request.app.state.jobs
    return jobs


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ModelServerDep = Annotated[ModelServer, Depends(get_model_server)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
