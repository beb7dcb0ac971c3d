"""The frame pipeline: decoded frames in, (frame, mask) out in order, with a few frames at the model server at
once so that its batching sees full batches. It knows no job, store or file: the store feeds and drains it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from typing import Any

import av.error
import numpy as np
from anyio import to_thread

from gateway.errors import GatewayError
from gateway.model_server import ModelServerFailure, Prediction, model_server_error
from gateway.videos.codec import bmp_bytes
from roadseg.masks import mask_ids

Predict = Callable[[bytes], Coroutine[Any, Any, Prediction]]


def next_frame(frames: Iterator[np.ndarray], index: int) -> np.ndarray | None:
    """The next frame (number `index`), None after the last; a frame FFmpeg cannot decode is a 415."""
    try:
        return next(frames, None)
    except av.error.FFmpegError as error:
        raise GatewayError(
            415, "unsupported_video", f"frame {index} of the video cannot be decoded ({error})"
        ) from None


def checked_ids(rgb: np.ndarray, prediction: Prediction) -> np.ndarray:
    """The frame's category ids; a mask of another size than the frame is the model server's error."""
    ids = mask_ids(prediction.png)
    if ids.shape != rgb.shape[:2]:
        raise model_server_error(
            ModelServerFailure.failed,
            f"the model server returned a {ids.shape[::-1]} mask for a {rgb.shape[1::-1]} frame",
        )
    return ids


async def segmented_frames(
    frames: Iterator[np.ndarray], predict: Predict, in_flight: int
) -> AsyncGenerator[tuple[np.ndarray, np.ndarray, Prediction], None]:
    """(RGB frame, its category ids, the prediction) for every frame in order; decoding and encoding run in
    worker threads, at most `in_flight` frames are at the model server at once. Leaving early cancels them."""
    pending: deque[tuple[np.ndarray, asyncio.Task[Prediction]]] = deque()
    index = 0
    try:
        while True:
            rgb = await to_thread.run_sync(next_frame, frames, index)
            if rgb is not None:
                index += 1
                data = await to_thread.run_sync(bmp_bytes, rgb)
                pending.append((rgb, asyncio.create_task(predict(data))))
            if pending and (rgb is None or len(pending) >= in_flight):
                done_rgb, task = pending.popleft()
                prediction = await task
                yield done_rgb, await to_thread.run_sync(checked_ids, done_rgb, prediction), prediction
            if rgb is None and not pending:
                return
    finally:
        for _, task in pending:
            task.cancel()
