"""Uploads within their byte limit: one check and one message for the middleware, /predict and /videos."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from gateway.errors import GatewayError

CHUNK = 1 << 20
# Multipart framing around the file: a declared body this much over the limit may still hold a file within it.
MULTIPART_OVERHEAD = 64 * 1024


def upload_too_large(limit: int, what: str = "upload") -> GatewayError:
    return GatewayError(413, "upload_too_large", f"the {what} is larger than the {limit / 2**20:.0f} MiB limit")


def declared_too_large(content_length: str | None, limit: int) -> bool:
    """Whether a request's declared length cannot hold an upload within `limit` (checked before reading it)."""
    return bool(content_length and content_length.isdigit() and int(content_length) > limit + MULTIPART_OVERHEAD)


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes; 413 as soon as it exceeds `limit`."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise upload_too_large(limit)
    return data


async def save_upload(file: UploadFile, target: Path, limit: int, what: str = "upload") -> int:
    """Copy the upload to `target` in chunks; 413 as soon as it exceeds `limit` bytes, 400 when empty."""
    size = 0
    with open(target, "wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise upload_too_large(limit, what)
            await run_in_threadpool(out.write, chunk)
    if size == 0:
        raise GatewayError(400, "empty_upload", "the uploaded file is empty")
    return size
