"""Operator CLI for TorchServe's management API (never exposed by the public gateway).

    python -m gateway.admin list
    python -m gateway.admin register model_store/roadseg_v2.mar --workers 1 [--set-default]
    python -m gateway.admin scale roadseg --version 3.0 --workers 2
    python -m gateway.admin set-default roadseg 3.0
    python -m gateway.admin unregister roadseg 1.0

Addresses and keys come from the gateway's settings (GATEWAY_TORCHSERVE_MANAGEMENT_URL,
GATEWAY_TORCHSERVE_KEY_FILE...). Registering needs TorchServe started with --enable-model-api, and
archives are taken from its model store only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.torchserve.management import TorchServeManagement
from gateway.torchserve.transport import TorchServeHttp


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


async def run(
    settings: Settings,
    command: str,
    name: str | None = None,
    version: str | None = None,
    archive: Path | None = None,
    workers: int = 1,
    set_default: bool = False,
) -> Any:
    """One command through the gateway's own TorchServe management client (300 s for synchronous calls)."""
    transport = TorchServeHttp(settings.model_copy(update={"inference_timeout_s": 300.0}))
    management = TorchServeManagement(transport)
    try:
        if command == "list":
            listing = await management.call("GET", "/models", "the model list")
            return [await management.describe(m["modelName"], "all") for m in listing["models"]]
        if command == "register":
            assert archive is not None
            return await management.register_archive(archive, workers, set_default)
        assert name is not None
        if command == "scale":
            return await management.scale(name, version, workers)
        assert version is not None
        if command == "set-default":
            await management.set_default(name, version)
            return f"{name} {version} is the default version"
        return await management.unregister(name, version)
    finally:
        await transport.aclose()


def main(argv: list[str] | None = None, settings: Settings | None = None) -> Any:
    args = get_args_parser().parse_args(argv)
    try:
        result = asyncio.run(run(settings or Settings(), **vars(args)))
    except GatewayError as error:
        raise SystemExit(f"TorchServe refused {args.command} ({error.status_code}): {error.message}") from None
    print(json.dumps(result, indent=2) if not isinstance(result, str) else result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
