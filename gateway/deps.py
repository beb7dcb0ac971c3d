"""FastAPI dependencies: the settings and the shared TorchServe client."""

from __future__ import annotations

from fastapi import Request

from gateway.config import Settings
from gateway.torchserve import TorchServeClient


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_torchserve(request: Request) -> TorchServeClient:
    return request.app.state.torchserve
