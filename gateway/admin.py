"""Operator CLI for TorchServe's management API (never exposed by the public gateway).

    python -m gateway.admin list
    python -m gateway.admin register model_store/roadseg_v2.mar --workers 1 [--set-default]
    python -m gateway.admin scale roadseg --version 2.0 --workers 2
    python -m gateway.admin set-default roadseg 2.0
    python -m gateway.admin unregister roadseg 1.0

Addresses and keys come from the gateway's settings (GATEWAY_TORCHSERVE_MANAGEMENT_URL,
GATEWAY_TORCHSERVE_KEY_FILE...). Registering needs TorchServe started with --enable-model-api, and
archives are taken from its model store only.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx

from gateway.config import Settings
from gateway.torchserve_keys import keys_from_settings


class ManagementClient:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.torchserve_management_url.rstrip("/")
        self.keys = keys_from_settings(settings)
        self.http = httpx.Client(timeout=httpx.Timeout(300, connect=5))

    def call(self, method: str, path: str, **params: str | int) -> Any:
        response = self.http.request(
            method, f"{self.url}{path}", params=params or None, headers=self.keys.header("management")
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            message = body.get("message", body) if isinstance(body, dict) else body
            raise SystemExit(f"TorchServe refused {method} {path} ({response.status_code}): {message}")
        return body


def archive_manifest(path: Path) -> dict[str, Any]:
    """MAR-INF/MANIFEST.json of an archive: model name and version."""
    with zipfile.ZipFile(path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("MAR-INF/MANIFEST.json"))
    return manifest


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="models, versions, workers")
    reg = sub.add_parser("register", help="register an archive from the model store")
    reg.add_argument("archive", type=Path, help="a .mar in TorchServe's model store (its file name is used)")
    reg.add_argument("--workers", type=int, default=1, help="initial workers")
    reg.add_argument("--set-default", action="store_true", help="make this version the default")
    scale = sub.add_parser("scale", help="set the number of workers of a model version")
    scale.add_argument("name")
    scale.add_argument("--version", help="version (default: the default version)")
    scale.add_argument("--workers", type=int, required=True, help="min = max workers")
    default = sub.add_parser("set-default", help="make a version the default answering /predict")
    default.add_argument("name")
    default.add_argument("version")
    unreg = sub.add_parser("unregister", help="remove a model version")
    unreg.add_argument("name")
    unreg.add_argument("version")
    return p


def main(argv: list[str] | None = None, settings: Settings | None = None) -> Any:
    args = get_args_parser().parse_args(argv)
    client = ManagementClient(settings or Settings())
    if args.command == "list":
        result = [client.call("GET", f"/models/{m['modelName']}/all") for m in client.call("GET", "/models")["models"]]
    elif args.command == "register":
        result = client.call("POST", "/models", url=args.archive.name, initial_workers=args.workers, synchronous="true")
        if args.set_default:
            model = archive_manifest(args.archive)["model"]
            result = client.call("PUT", f"/models/{model['modelName']}/{model['modelVersion']}/set-default")
    elif args.command == "scale":
        path = f"/models/{args.name}" + (f"/{args.version}" if args.version else "")
        result = client.call("PUT", path, min_worker=args.workers, max_worker=args.workers, synchronous="true")
    elif args.command == "set-default":
        result = client.call("PUT", f"/models/{args.name}/{args.version}/set-default")
    else:
        result = client.call("DELETE", f"/models/{args.name}/{args.version}")
    print(json.dumps(result, indent=2) if not isinstance(result, str) else result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
