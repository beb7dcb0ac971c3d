"""FastAPI dependencies: the settings, the shared TorchServe client and the video jobs."""

from __future__ import annotations

from fastapi import Request

from gateway.config import Settings
from gateway.jobs import JobStore
from gateway.torchserve import TorchServeClient


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_torchserve(request: Request) -> TorchServeClient:
    client: TorchServeClient = request.app.state.torchserve
    return client


def get_jobs(request: Request) -> JobStore:
    jobs: JobStore = request.app.state.jobs
    return jobs
