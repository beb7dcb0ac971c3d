"""The app's settings: one class, from the environment (API_URL: the gateway's base URL).

The upload limit is the gateway's (GATEWAY_MAX_UPLOAD_BYTES): the page shows its 413 message."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_url: str = Field("http://127.0.0.1:8000", description="gateway base URL; a full .../predict URL is accepted")
    api_timeout_s: float = Field(60.0, description="seconds to wait for one segmentation")

    @field_validator("api_url")
    @classmethod
    def gateway_base_url(cls, value: str) -> str:
        """Accept the original deployment's form, the full /predict URL, as the base URL."""
        value = value.strip().rstrip("/")
        return value.removesuffix("/predict").rstrip("/")
