"""Segment files offline on the embedded runtime (ONNX Runtime, no PyTorch): images, folders and videos.

    python -m segmenter segment road.jpg drive/ clip.mp4 --model roadseg-rt --out masks/
    python -m segmenter segment frames/ --model models/x.int8.onnx --out masks/ --overlay --confidence

For each image, OUT/<its path under the input>_mask.png (8-bit category ids: void 0, flat 1 ... vehicle 7),
with --overlay its _overlay.png and with --confidence its _confidence.png (255 = sure). For each video,
OUT/<name>_overlay.mp4 (H.264) and, with --masks, OUT/<name>_masks/ (one mask PNG per frame). Folders are walked
recursively. Every file is written whole or not at all (a temporary name, then renamed). An input that cannot
be read is named in the summary at the end and the exit code is 1; the others are still written.
OUT/summary.json holds each category's share of the pixels segmented and the failures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from roadseg.categories import CATEGORIES, NUM_CATEGORIES
from roadseg.images import ImageDecodeError, decode_image, encode_png
from roadseg.masks import category_pixels, encode_mask_png, overlay
from roadseg.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, media_kind
from segmenter.embedded import EmbeddedSegmenter

OVERLAY_ALPHA = 0.5


@dataclass(frozen=True)
class Job:
    """One input file and where its outputs go: OUT/<relative path without suffix>."""

    source: Path
    stem: Path
    kind: str  # "image" or "video"


@dataclass(frozen=True)
class Outputs:
    """Which files each input gets beside its mask (PNG) or overlay video (MP4)."""

    overlay: bool = False  # an image's overlay PNG
    confidence: bool = False  # an image's confidence PNG
    masks: bool = False  # a video's per-frame mask PNGs


@dataclass
class Summary:
    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CATEGORIES, dtype=np.int64))

    def shares(self) -> dict[str, float]:
        total = max(int(self.pixels.sum()), 1)
        return {c.name: round(float(self.pixels[c.id]) / total, 4) for c in CATEGORIES}


def find_jobs(inputs: list[Path], out: Path) -> tuple[list[Job], dict[str, str]]:
    """The files to segment (folders walked recursively, in sorted order) and the inputs refused at once."""
    jobs: list[Job] = []
    refused: dict[str, str] = {}
    for given in inputs:
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                kind = media_kind(path)
                if kind and out.resolve() not in path.resolve().parents:
                    jobs.append(Job(path, Path(given.name) / path.relative_to(given).with_suffix(""), kind))
        elif given.is_file():
            kind = media_kind(given)
            if kind is None:
                extensions = ", ".join((*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS))
                refused[str(given)] = f"not an image or video file by its name (read here: {extensions})"
            else:
                jobs.append(Job(given, Path(given.stem), kind))
        else:
            refused[str(given)] = "no such file or folder"
    return jobs, refused


def write_atomically(path: Path, data: bytes) -> None:
    """`data` at `path`, whole or not at all: written under a temporary name in the same folder, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)


def segment_image(segmenter: EmbeddedSegmenter, job: Job, out: Path, outputs: Outputs) -> np.ndarray:
    """Write the image's outputs; returns its category ids."""
    rgb = decode_image(job.source.read_bytes())
    ids, confidence = segmenter.segment_with_confidence(rgb)
    base = out / job.stem
    files = {f"{base}_mask.png": encode_mask_png(ids)}
    if outputs.overlay:
        files[f"{base}_overlay.png"] = encode_png(overlay(rgb, ids, OVERLAY_ALPHA))
    if outputs.confidence:
        files[f"{base}_confidence.png"] = encode_png(confidence)
    for path, data in files.items():  # encoded first: a failure above leaves no file of this image
        write_atomically(Path(path), data)
    return ids


def segment_video(segmenter: EmbeddedSegmenter, job: Job, out: Path, outputs: Outputs) -> np.ndarray:
    """Write the overlay MP4 (and the frames' masks with --masks); returns the category pixels of every frame."""
    import av

    from roadseg.videos import Mp4Writer, rgb_frames

    base = out / job.stem
    base.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(job.source)) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        width, height = stream.codec_context.width, stream.codec_context.height
    pixels = np.zeros(NUM_CATEGORIES, dtype=np.int64)
    with tempfile.TemporaryDirectory(dir=base.parent, prefix=f".{base.name}.") as work:
        video_part, masks_part = Path(work) / "overlay.mp4", Path(work) / "masks"
        masks_part.mkdir()
        writer = Mp4Writer(video_part, fps, width, height)
        try:
            for index, rgb in enumerate(rgb_frames(job.source)):
                ids = segmenter.segment(rgb)
                pixels += category_pixels(ids)
                writer.write(overlay(rgb, ids, OVERLAY_ALPHA))
                if outputs.masks:
                    (masks_part / f"frame_{index:06d}.png").write_bytes(encode_mask_png(ids))
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if pixels.sum() == 0:
            raise ValueError("the video has no frames that can be read")
        os.replace(video_part, f"{base}_overlay.mp4")
        if outputs.masks:
            masks_dir = Path(f"{base}_masks")
            shutil.rmtree(masks_dir, ignore_errors=True)
            os.replace(masks_part, masks_dir)
    return pixels


def run_jobs(
    segmenter: EmbeddedSegmenter, jobs: list[Job], out: Path, outputs: Outputs, quiet: bool = False
) -> Summary:
    summary = Summary()
    for job in tqdm(jobs, desc="segmenting", unit="file", disable=quiet):
        try:
            if job.kind == "image":
                summary.pixels += category_pixels(segment_image(segmenter, job, out, outputs))
            else:
                summary.pixels += segment_video(segmenter, job, out, outputs)
            summary.written.append(str(job.source))
        except (ImageDecodeError, OSError, ValueError) as error:
            summary.failed[str(job.source)] = str(error)
        except Exception as error:  # PyAV's decoding errors, among others: name the file and go on
            summary.failed[str(job.source)] = f"{type(error).__name__}: {error}"
    return summary


def report(summary: Summary, out: Path, model: str) -> None:
    shares = summary.shares()
    document = {"model": model, "written": summary.written, "failed": summary.failed, "category_shares": shares}
    write_atomically(out / "summary.json", (json.dumps(document, indent=2) + "\n").encode())
    print(f"{len(summary.written)} segmented into {out}, {len(summary.failed)} failed")
    if summary.written:
        print("category shares of the pixels segmented:")
        for name, share in shares.items():
            print(f"  {name:<13} {share:6.1%}")
    for source, reason in summary.failed.items():
        print(f"FAILED {source}: {reason}", file=sys.stderr)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m segmenter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = p.add_subparsers(dest="command", required=True)
    segment = commands.add_parser("segment", help="segment images, folders and videos into mask files")
    segment.add_argument("inputs", nargs="+", type=Path, help="image or video files, or folders (walked recursively)")
    segment.add_argument(
        "--model",
        default="roadseg-rt",
        help="a shipped model's name (roadseg, roadseg-rt; NAME:VERSION for another version) or an .onnx graph "
        "with its .onnx.json beside it (default: roadseg-rt)",
    )
    segment.add_argument("--out", required=True, type=Path, help="the folder the outputs go to (created)")
    segment.add_argument("--overlay", action="store_true", help="also write each image's overlay PNG")
    segment.add_argument("--confidence", action="store_true", help="also write each image's confidence PNG")
    segment.add_argument("--masks", action="store_true", help="for videos, also write every frame's mask PNG")
    segment.add_argument("--threads", type=int, help="ONNX Runtime threads (default: every core)")
    segment.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    try:
        segmenter = EmbeddedSegmenter.load(args.model, args.threads)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    jobs, refused = find_jobs(args.inputs, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = Outputs(args.overlay, args.confidence, args.masks)
    summary = run_jobs(segmenter, jobs, args.out, outputs, args.quiet)
    summary.failed = {**refused, **summary.failed}
    if not jobs and not refused:
        summary.failed["(inputs)"] = "no image or video file found in the folders given"
    report(summary, args.out, str(args.model))
    return 1 if summary.failed else 0
