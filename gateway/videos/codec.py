"""Dashcam clips with PyAV (FFmpeg in its wheel): probe against the limits, decode RGB frames, encode the
overlay as H.264 MP4. Plain blocking functions: the job runner calls them in worker threads."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from PIL import Image

from gateway.errors import GatewayError
from roadseg.videos import Mp4Writer, rgb_frames

__all__ = ["CONTAINERS", "Mp4Writer", "VideoInfo", "bmp_bytes", "probe_video", "rgb_frames"]

# Demuxers (FFmpeg's names) of the containers accepted: MP4/MOV, AVI, MKV (and its WebM subset).
CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV", "avi": "AVI", "matroska,webm": "MKV"}
DEFAULT_FPS = Fraction(25)


@dataclass(frozen=True)
class VideoInfo:
    frames: int  # from the container, or estimated from duration x rate when it does not say
    fps: Fraction
    width: int
    height: int
    seconds: float
    container: str


def probe_video(path: Path, max_seconds: float, max_pixels: int) -> VideoInfo:
    """What the clip holds, or a GatewayError: 415 for what is not a readable MP4/MOV/AVI/MKV video, 413 for
    a clip longer than `max_seconds` or with frames over `max_pixels`."""
    try:
        with av.open(str(path)) as container:
            kind = CONTAINERS.get(container.format.name)
            if kind is None:
                raise GatewayError(
                    415,
                    "unsupported_video",
                    f"{container.format.long_name} is not a video container read here (MP4, MOV, AVI, MKV)",
                )
            if not container.streams.video:
                raise GatewayError(415, "unsupported_video", f"the {kind} file holds no video stream")
            stream = container.streams.video[0]
            fps = stream.average_rate or stream.guessed_rate or DEFAULT_FPS
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = (container.duration or 0) / av.time_base
            width, height = stream.codec_context.width, stream.codec_context.height
            frames = stream.frames or round(seconds * fps)
    except av.error.FFmpegError as error:
        raise GatewayError(415, "unsupported_video", f"the file is not a video that can be read ({error})") from None
    if not width or not height or frames <= 0:
        raise GatewayError(415, "unsupported_video", "the video has no frames that can be read")
    if seconds > max_seconds:
        raise GatewayError(413, "video_too_long", f"the video lasts {seconds:.1f} s; the limit is {max_seconds:g} s")
    if width * height > max_pixels:
        raise GatewayError(
            413, "too_many_pixels", f"the video's frames are {width}x{height}; the limit is {max_pixels} pixels"
        )
    return VideoInfo(frames, Fraction(fps), width, height, seconds, kind)


def bmp_bytes(rgb: np.ndarray) -> bytes:
    """A frame as an uncompressed BMP: lossless and the cheapest image to write and to read back."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="BMP")
    return buffer.getvalue()
