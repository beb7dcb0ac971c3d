"""TorchServe's management API: the model catalogue (versions, workers, the default version, what each archive
says of its model), setting the default, and the operator's calls (register, scale, unregister)."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

from gateway.model_server import ModelEntry, ModelVersion
from gateway.torchserve.transport import TorchServeHttp, describe_target


def archive_manifest(path: Path) -> dict[str, Any]:
    """MAR-INF/MANIFEST.json of a TorchServe archive: model name and version."""
    with zipfile.ZipFile(path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("MAR-INF/MANIFEST.json"))
    return manifest


class TorchServeManagement:
    def __init__(self, transport: TorchServeHttp, version_cache_s: float = 5.0):
        self.transport = transport
        self.url = transport.management_url
        self.version_cache_s = version_cache_s
        self._default_versions: dict[str, tuple[float, str]] = {}
        self._details: dict[tuple[str, str, str | None], dict[str, object]] = {}

    async def call(self, method: str, path: str, what: str, **params: str | int) -> Any:
        """One management call's JSON answer (or text); error answers raise the neutral GatewayErrors."""
        response = await self.transport.request("management", method, f"{self.url}{path}", params=params or None)
        self.transport.raise_for_status(response, what)
        try:
            return response.json()
        except ValueError:
            return response.text

    async def describe(self, model: str, version: str | None = None) -> list[dict[str, Any]]:
        """TorchServe's description of a model version (the default one when `version` is None; "all")."""
        path = f"/models/{model}" + (f"/{version}" if version else "")
        described: list[dict[str, Any]] = await self.call("GET", path, describe_target(model, version))
        return described

    async def default_version(self, model: str) -> str:
        cached = self._default_versions.get(model)
        if cached and time.monotonic() - cached[0] < self.version_cache_s:
            return cached[1]
        version = str((await self.describe(model))[0]["modelVersion"])
        self._default_versions[model] = (time.monotonic(), version)
        return version

    async def details(self, model: str, version: str, archive: str | None) -> dict[str, object]:
        """What the archive's handler says of its model (`describe_handle`: dataset, architecture, runtime...),
        asked once per archive; empty when it says nothing."""
        key = (model, version, archive)
        if key not in self._details:
            path = f"/models/{model}/{version}"
            answer = await self.call("GET", path, describe_target(model, version), customized="true")
            metadata = answer[0].get("customizedMetadata") if answer else None
            try:
                parsed = json.loads(metadata) if isinstance(metadata, str) else metadata
            except ValueError:
                parsed = None
            self._details[key] = parsed if isinstance(parsed, dict) else {}
        return self._details[key]

    async def list_models(self) -> list[ModelEntry]:
        """Every registered model with all its versions, the default one marked."""
        listing = await self.call("GET", "/models", "the model list", limit=1000)
        models = []
        for entry in listing.get("models", []):
            name = entry["modelName"]
            default = await self.default_version(name)
            versions = []
            for v in await self.describe(name, "all"):
                version, workers = str(v["modelVersion"]), v.get("workers", [])
                versions.append(
                    ModelVersion(
                        version=version,
                        is_default=version == default,
                        workers=len(workers),
                        workers_ready=sum(w.get("status") == "READY" for w in workers),
                        archive=v.get("modelUrl"),
                        batch_size=v.get("batchSize"),
                        details=await self.details(name, version, v.get("modelUrl")),
                    )
                )
            models.append(ModelEntry(name, default, versions))
        return models

    async def set_default(self, model: str, version: str) -> None:
        await self.call("PUT", f"/models/{model}/{version}/set-default", describe_target(model, version))
        self._default_versions.pop(model, None)

    async def register_archive(self, archive: Path, workers: int, set_default: bool = False) -> Any:
        """Register a .mar of the model store (by its file name) and, if asked, make its version the default."""
        result = await self.register(archive.name, workers)
        if set_default:
            model = archive_manifest(archive)["model"]
            await self.set_default(model["modelName"], model["modelVersion"])
        return result

    async def register(self, archive_name: str, workers: int) -> Any:
        """Register an archive from TorchServe's model store (needs --enable-model-api)."""
        return await self.call(
            "POST",
            "/models",
            f"registering {archive_name}",
            url=archive_name,
            initial_workers=workers,
            synchronous="true",
        )

    async def scale(self, model: str, version: str | None, workers: int) -> Any:
        path = f"/models/{model}" + (f"/{version}" if version else "")
        return await self.call(
            "PUT", path, describe_target(model, version), min_worker=workers, max_worker=workers, synchronous="true"
        )

    async def unregister(self, model: str, version: str) -> Any:
        return await self.call("DELETE", f"/models/{model}/{version}", describe_target(model, version))
