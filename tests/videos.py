"""Short generated clips for the video tests: real MP4/MKV/AVI files written with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def clip_frames(frames: int, width: int, height: int) -> list[np.ndarray]:
    """A bright bar sweeping across a gradient: each frame differs from the last."""
    base = np.zeros((height, width, 3), np.uint8)
    base[..., 0] = np.linspace(0, 200, width, dtype=np.uint8)[None, :]
    base[..., 2] = np.linspace(0, 200, height, dtype=np.uint8)[:, None]
    out = []
    for index in range(frames):
        frame = base.copy()
        x = index * width // max(frames, 1)
        frame[:, x : x + max(2, width // 10)] = 255
        out.append(frame)
    return out


def write_clip(
    path: Path, frames: int = 12, width: int = 96, height: int = 64, fps: int = 10, codec: str = "libx264"
) -> Path:
    """`frames` frames at `fps` in the container the suffix names (.mp4, .mkv, .avi, .mov)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for rgb in clip_frames(frames, width, height):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
