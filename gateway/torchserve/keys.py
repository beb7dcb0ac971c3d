"""TorchServe token authorization: the keys, from its key_file.json (`roadseg.contract`) or from settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from roadseg.contract import KEY_FILE_APIS, read_key_file

if TYPE_CHECKING:
    from pydantic import SecretStr

    from gateway.config import Settings


class TorchServeKeys:
    """Bearer keys per API kind; `reload()` re-reads the key file after TorchServe restarts or regenerates."""

    def __init__(self, key_file: Path | None = None, **keys: str | None) -> None:
        self.key_file = key_file
        self._given = {kind: keys.get(kind) for kind in KEY_FILE_APIS}
        self._keys = dict(self._given)
        self.reload()

    def reload(self) -> None:
        if self.key_file is None:
            return
        try:
            found = read_key_file(self.key_file)
        except (OSError, ValueError, TypeError, KeyError):
            return  # TorchServe not started yet, or writing the file: keep what we have
        self._keys = {kind: found.get(kind) or self._given[kind] for kind in KEY_FILE_APIS}

    def get(self, kind: str) -> str | None:
        return self._keys.get(kind)

    def header(self, kind: str) -> dict[str, str]:
        key = self.get(kind)
        return {"Authorization": f"Bearer {key}"} if key else {}


def keys_from_settings(settings: Settings) -> TorchServeKeys:
    """The keys named by the gateway's Settings: its key file, and any keys given directly."""

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    return TorchServeKeys(
        settings.torchserve_key_file,
        inference=secret(settings.torchserve_inference_key),
        management=secret(settings.torchserve_management_key),
        api=secret(settings.torchserve_api_key),
    )


def is_key_refusal(status_code: int, body: bytes) -> bool:
    """TorchServe answers a missing, wrong or expired key with 400/401 and this message."""
    return status_code in (400, 401) and b"Token Authorization failed" in body
