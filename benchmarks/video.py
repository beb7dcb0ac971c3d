"""Video throughput: a CamVid val sequence as a dashcam clip through POST /videos, in frames per second, beside
/predict's throughput at the same size. Not a test: it prints figures (docs/BENCHMARKS.md).

    python -m benchmarks.video                       # its own TorchServe + gateway (make bench-video)
    python -m benchmarks.video --url http://127.0.0.1:8000            # a running `make run`
    python -m benchmarks.video --write-clip streamlit/samples/camvid_0016E5.mp4 --frames 60   # the app's sample

The clip is CamVid val's 0016E5 frames in order (480x360; every other frame of the 30 fps original, so
15 fps), encoded as H.264 MP4. It goes through every model the gateway serves (roadseg first, then
e.g. the real-time model), and the speed-up of each over the first is printed. Beside each served run, the same
clip goes through the same model in this process (`python -m segmenter segment CLIP --model NAME`'s video path:
decode, ONNX Runtime, overlay, H.264), the runs taking turns; the served frames per second are given as a share
of the in-process ones.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from benchmarks.load import send
from benchmarks.serving import REPO_ROOT, start_services
from gateway.videos.codec import Mp4Writer
from roadseg.videos import decoded_frame_count
from segmenter.cli import Job, Outputs, segment_video
from segmenter.embedded import EmbeddedSegmenter
from stack.processes import stop

CAMVID_VAL = REPO_ROOT.parent / "shared" / "data" / "camvid" / "val"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--camvid-val", type=Path, default=CAMVID_VAL, help="CamVid val images (the SegNet layout)")
    p.add_argument("--frames", type=int, default=101, help="frames of the clip (CamVid val's 0016E5 has 101)")
    p.add_argument("--url", help="a running gateway (default: start TorchServe and a gateway for this run)")
    p.add_argument("--runs", type=int, default=2, help="times the clip goes through the job API per model")
    p.add_argument("--models", nargs="+", help="model names to run the clip through (default: all the gateway lists)")
    p.add_argument("--write-clip", type=Path, help="only write the clip here (e.g. the app's sample) and stop")
    p.add_argument("--crf", type=int, default=23, help="H.264 quality of the clip (higher: smaller file)")
    return p


def write_camvid_clip(val: Path, path: Path, frames: int, crf: int = 23, fps: int = 15) -> Path:
    """The 0016E5 sequence of CamVid val, in frame order, as an H.264 MP4."""
    images = sorted(val.glob("0016E5_*.png"))[:frames]
    if not images:
        raise SystemExit(f"no CamVid val frames (0016E5_*.png) in {val}")
    first = Image.open(images[0])
    writer = Mp4Writer(path, Fraction(fps), first.width, first.height, crf=crf, preset="slow")
    for image in images:
        writer.write(np.asarray(Image.open(image).convert("RGB")))
    writer.close()
    return path


def run_job(url: str, clip: Path, model: str) -> tuple[dict, float]:
    """Submit, poll until finished; (the job, seconds from upload to done)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        started = time.perf_counter()
        files = {"file": (clip.name, clip.read_bytes(), "video/mp4")}
        response = client.post("/videos", params={"model": model}, files=files)
        response.raise_for_status()
        status_url = response.headers["location"]
        while (job := client.get(status_url).json())["status"] not in ("done", "failed"):
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if job["status"] != "done":
            raise SystemExit(f"the job failed: {job['error']}")
        client.get(job["video_url"]).raise_for_status()
    return job, seconds


def run_in_process(clip: Path, model: str, work: Path) -> tuple[int, float]:
    """The clip through `model` on the embedded runtime, as the CLI does it; (frames, seconds)."""
    segmenter = EmbeddedSegmenter.load(model)
    started = time.perf_counter()
    segment_video(segmenter, Job(clip, Path(model), "video"), work, Outputs())
    seconds = time.perf_counter() - started
    return decoded_frame_count(work / f"{model}_overlay.mp4"), seconds


def main(args: argparse.Namespace) -> None:
    if args.write_clip:
        path = write_camvid_clip(args.camvid_val, args.write_clip, args.frames, args.crf)
        print(f"wrote {path} ({args.frames} frames, {path.stat().st_size / 1024:.0f} KiB)")
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_camvid_clip(args.camvid_val, Path(tmp) / "camvid_0016E5.mp4", args.frames, args.crf)
        processes: list = []
        try:
            url = args.url
            if url is None:
                url, processes = start_services(Path(tmp))
            models = args.models or [m["name"] for m in httpx.get(f"{url}/models", timeout=30).json()]
            results: dict[str, list[tuple[dict, float]]] = {}
            in_process: dict[str, list[tuple[int, float]]] = {}
            for model in models:
                run_job(url, clip, model)  # warm-up
                run_in_process(clip, model, Path(tmp))
                results[model], in_process[model] = [], []
                for _ in range(args.runs):  # taking turns: a shared machine's speed drifts by the minute
                    results[model].append(run_job(url, clip, model))
                    in_process[model].append(run_in_process(clip, model, Path(tmp)))
            started = time.perf_counter()
            answered = asyncio.run(send(url, args.frames, 4, time.monotonic() + 600))[1]["200"]
            predict_fps = answered / (time.perf_counter() - started)
        finally:
            for process in processes:
                stop(process)
    best_fps = {}
    for model, jobs in results.items():
        for job, seconds in jobs:
            print(
                f"video job: {job['frames_done']} frames of {job['width']}x{job['height']} in {seconds:.1f} s "
                f"(upload to done): {job['frames_done'] / seconds:.2f} frames/s; model {job['model']} {job['version']}"
            )
        best_fps[model] = max(job["frames_done"] / seconds for job, seconds in jobs)
        own_fps = max(frames / seconds for frames, seconds in in_process[model])
        for frames, seconds in in_process[model]:
            print(f"in-process: {frames} frames in {seconds:.1f} s: {frames / seconds:.2f} frames/s; model {model}")
        share = best_fps[model] / own_fps
        print(f"{model}: served {best_fps[model]:.2f} frames/s = {share:.0%} of in-process {own_fps:.2f} frames/s")
    first = next(iter(best_fps))
    for model, fps in list(best_fps.items())[1:]:
        print(f"{model}: {fps:.2f} frames/s, {fps / best_fps[first]:.2f}x {first}'s {best_fps[first]:.2f}")
    print(
        f"POST /predict, 4 clients, {args.frames} requests (the app's 480x360 JPEG samples): {predict_fps:.2f} images/s"
    )


if __name__ == "__main__":
    main(get_args_parser().parse_args())
