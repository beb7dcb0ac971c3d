"""The embedded runtime (ONNX Runtime, NumPy, Pillow; no PyTorch) and its command line."""

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from roadseg.model_config import ModelConfig
from roadseg.videos import Mp4Writer
from segmenter import cli
from segmenter.embedded import EmbeddedSegmenter, shipped_graph
from segmenter.segmenter import Segmenter, confidence_at_size, prepare_rgb
from segmenter.weights import model_from_config
from training.onnx_export import export_onnx

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Path:
    """A small random-weight U-Net as an ONNX graph with its config beside it (what training.export writes)."""
    torch.manual_seed(0)
    config = ModelConfig("unet_mini", {"width": 0.25}, 48, "fixture")
    model = model_from_config(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)  # logits varied enough to give every category
    path = export_onnx(model, tmp_path_factory.mktemp("graph") / "tiny.onnx", config.short_side)
    path.with_name(path.name + ".json").write_text(json.dumps({"config": config.to_dict()}))
    return path


def road_like(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (max(1, height // 8), max(1, width // 8), 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(blocks).resize((width, height), Image.Resampling.BILINEAR))


@pytest.mark.parametrize(("height", "width"), [(77, 101), (48, 64), (120, 90)])
def test_masks_are_the_pytorch_runtimes_pixel_for_pixel(graph, height, width):
    embedded, reference = EmbeddedSegmenter.load(graph), Segmenter.load(graph)
    rgb = road_like(height, width, seed=height)
    ids, confidence = embedded.segment_with_confidence(rgb)
    assert ids.shape == (height, width) and ids.dtype == np.uint8
    assert len(np.unique(ids)) > 1  # a real mask, not a constant one
    assert np.array_equal(ids, reference.segment(rgb))
    [logits] = reference.logits([prepare_rgb(rgb, reference.short_side)])
    expected_confidence = confidence_at_size(logits, (height, width)).astype(int)
    assert np.abs(confidence.astype(int) - expected_confidence).max() <= 1  # rounding of the resized probability


def test_shipped_models_resolve_to_their_served_graphs():
    assert shipped_graph("roadseg-rt").name.endswith(".int8.onnx")
    assert shipped_graph("roadseg", "3.0").name == "vgg16_unet_v3.0.int8.onnx"
    with pytest.raises(ValueError, match="served by PyTorch"):
        shipped_graph("roadseg", "1.0")
    with pytest.raises(ValueError, match="no shipped model is called 'segformer'"):
        shipped_graph("segformer")
    with pytest.raises(ValueError, match=r"has no version 9\.9"):
        shipped_graph("roadseg", "9.9")


def write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def test_a_folder_with_a_corrupt_image_writes_the_others_and_names_the_bad_one(graph, tmp_path, capsys):
    inputs = tmp_path / "drive"
    write_png(inputs / "a.png", road_like(60, 80, 1))
    write_png(inputs / "day2" / "b.png", road_like(50, 70, 2))
    (inputs / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (inputs / "notes.txt").write_text("not an image: skipped in a folder")
    out = tmp_path / "out"
    code = cli.main(["segment", str(inputs), "--model", str(graph), "--out", str(out), "--overlay", "--quiet"])
    assert code == 1
    mask = np.asarray(Image.open(out / "drive" / "a_mask.png"))
    assert mask.shape == (60, 80) and mask.max() < 8
    assert np.asarray(Image.open(out / "drive" / "day2" / "b_overlay.png")).shape == (50, 70, 3)
    assert not list(out.rglob("c_*")) and not list(out.rglob(".*"))  # nothing of the bad one, no leftovers
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["written"]) == 2 and list(summary["failed"]) == [str(inputs / "c.jpg")]
    assert abs(sum(summary["category_shares"].values()) - 1) < 1e-3
    assert "FAILED" in capsys.readouterr().err


def test_a_video_gets_its_overlay_mp4_and_every_frames_mask(graph, tmp_path):
    clip = tmp_path / "clip.mp4"
    writer = Mp4Writer(clip, Fraction(10), 64, 48)
    for index in range(5):
        writer.write(road_like(48, 64, index))
    writer.close()
    out = tmp_path / "out"
    assert cli.main(["segment", str(clip), "--model", str(graph), "--out", str(out), "--masks", "--quiet"]) == 0
    assert (out / "clip_overlay.mp4").stat().st_size > 0
    masks = sorted((out / "clip_masks").glob("*.png"))
    assert len(masks) == 5 and np.asarray(Image.open(masks[0])).shape == (48, 64)


def test_unknown_model_and_missing_input_are_clear_errors(graph, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["segment", str(tmp_path), "--model", "segformer", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2 and "no shipped model is called 'segformer'" in capsys.readouterr().err
    code = cli.main(["segment", str(tmp_path / "missing.png"), "--model", str(graph), "--out", str(tmp_path / "o")])
    assert code == 1
    assert (
        "no such file or folder"
        in json.loads((tmp_path / "o" / "summary.json").read_text())["failed"][str(tmp_path / "missing.png")]
    )


NO_TORCH = textwrap.dedent("""
    import importlib.abc, runpy, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in {"torch", "torchvision", "training", "handler", "segmentation_models_pytorch", "timm"}:
                raise ImportError(f"{name} imported on the embedded path")
            return None

    sys.meta_path.insert(0, NoTorch())
    sys.argv = ["segmenter", *sys.argv[1:]]
    runpy.run_module("segmenter", run_name="__main__")
""")


def test_the_command_line_never_imports_pytorch(graph, tmp_path):
    write_png(tmp_path / "in" / "a.png", road_like(40, 60, 3))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_TORCH,
            "segment",
            str(tmp_path / "in"),
            "--model",
            str(graph),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "in" / "a_mask.png").is_file()
