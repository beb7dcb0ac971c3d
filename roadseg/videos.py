"""Video files with PyAV (FFmpeg in its wheel): RGB frames in display order, and H.264 MP4 that browsers play.
PyAV is not a core dependency: the gateway and the embedded runtime, which read and write videos, bring it."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np


def rgb_frames(path: Path) -> Generator[np.ndarray, None, None]:
    """(H, W, 3) uint8 RGB frames in display order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")


def decoded_frame_count(source: Path | BinaryIO) -> int:
    """How many frames of a video file (or of a file object holding one) decode."""
    with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


class Mp4Writer:
    """H.264 (libx264, yuv420p) MP4 that browsers play. yuv420p needs even sizes: an odd last row or column
    is repeated."""

    def __init__(self, path: Path, fps: Fraction, width: int, height: int, crf: int = 23, preset: str = "veryfast"):
        self.container = av.open(str(path), mode="w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": preset}

    def write(self, rgb: np.ndarray) -> None:
        pad = ((0, rgb.shape[0] % 2), (0, rgb.shape[1] % 2), (0, 0))
        frame = av.VideoFrame.from_ndarray(np.pad(rgb, pad, mode="edge") if any(p[1] for p in pad) else rgb)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        """Close the file without finishing the stream (the job failed or was deleted)."""
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self.container.close()
