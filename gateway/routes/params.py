"""What the routes share: the model and version query parameters, and the OpenAPI entries of their errors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.errors import ErrorBody

# A plain TorchServe model name or version: never a path or a URL.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
ModelName = Annotated[
    str | None, Query(pattern=NAME_PATTERN, description="TorchServe model (default: the configured one)")
]
ModelVersion = Annotated[
    str | None, Query(pattern=NAME_PATTERN, description="model version (default: TorchServe's default)")
]


def error_docs(descriptions: dict[int, str], *codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for `codes`: the JSON error body, described by the route's own sentences."""
    return {code: {"model": ErrorBody, "description": descriptions[code]} for code in codes}
