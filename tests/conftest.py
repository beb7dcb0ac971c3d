"""Shared fixtures: small CamVid- and Cityscapes-layout datasets of real PNG files with real label values."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# CamVid class index -> a distinctive RGB colour, so a small model can learn the fixture quickly.
CAMVID_FIXTURE_COLOURS = {
    0: (70, 130, 180),
    1: (90, 60, 40),
    2: (200, 200, 0),
    3: (128, 64, 128),
    4: (230, 160, 200),
    5: (20, 160, 20),
    6: (250, 120, 0),
    7: (150, 90, 150),
    8: (0, 0, 220),
    9: (220, 20, 60),
    10: (255, 0, 255),
    11: (0, 0, 0),
}


def camvid_scene(height: int, width: int, seed: int) -> np.ndarray:
    """A road-scene-like layout of CamVid class indices (0..11)."""
    rng = np.random.default_rng(seed)
    labels = np.full((height, width), 3, dtype=np.uint8)  # road
    horizon, skyline = int(height * 0.55), int(height * rng.uniform(0.2, 0.35))
    labels[:skyline] = 0  # sky
    labels[skyline:horizon] = 1  # building
    labels[skyline:horizon, : width // 4] = 5  # tree
    labels[horizon:, : width // 6] = 4  # pavement
    labels[horizon - 4 : horizon, width // 4 : width // 2] = 7  # fence
    car_x = int(rng.integers(width // 3, width - width // 4))
    labels[horizon - 6 : horizon + 8, car_x : car_x + width // 5] = 8  # car
    labels[horizon - 10 : horizon + 6, width // 8 : width // 8 + 3] = 9  # pedestrian
    labels[horizon - 10 : horizon + 6, width // 8 + 6 : width // 8 + 9] = 10  # bicyclist
    labels[skyline : height - 4, width - 8 : width - 6] = 2  # pole
    labels[skyline : skyline + 4, width - 14 : width - 10] = 6  # sign
    labels[-2:, :] = 11  # unlabelled
    return labels


def render(labels: np.ndarray, colours: dict[int, tuple[int, int, int]], seed: int) -> np.ndarray:
    """RGB image of a label map: each label its colour, plus noise."""
    rng = np.random.default_rng(seed)
    image = np.zeros((*labels.shape, 3), dtype=np.int16)
    for value, colour in colours.items():
        image[labels == value] = colour
    image += rng.integers(-12, 13, size=image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_camvid(root: Path, splits: dict[str, int], size: tuple[int, int] = (48, 64)) -> Path:
    """SegNet CamVid layout: <split>/*.png, <split>annot/*.png (8-bit class indices)."""
    height, width = size
    for split, count in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            seed = zlib.crc32(f"{split}/{i}".encode())  # the same in every process, unlike hash()
            labels = camvid_scene(height, width, seed)
            name = f"0001TP_{i:06d}.png"
            Image.fromarray(render(labels, CAMVID_FIXTURE_COLOURS, seed)).save(root / split / name)
            Image.fromarray(labels, mode="L").save(root / f"{split}annot" / name)
    return root


# Real Cityscapes label ids (gtFine labelIds) and the category each belongs to.
CITYSCAPES_FIXTURE_LABELS = {
    0: 0,
    1: 0,
    4: 0,
    6: 0,
    7: 1,
    8: 1,
    9: 1,
    11: 2,
    13: 2,
    14: 2,
    17: 3,
    20: 3,
    21: 4,
    22: 4,
    23: 5,
    24: 6,
    25: 6,
    26: 7,
    28: 7,
    33: 7,
}


def write_cityscapes(root: Path, splits: dict[str, int], size: tuple[int, int] = (32, 80)) -> Path:
    """Official layout: leftImg8bit/<split>/<city>/*_leftImg8bit.png and gtFine/.../*_gtFine_labelIds.png."""
    height, width = size
    ids = np.array(sorted(CITYSCAPES_FIXTURE_LABELS), dtype=np.uint8)
    for split, count in splits.items():
        for i in range(count):
            city = ["aachen", "bremen"][i % 2]
            stem = f"{city}_{i:06d}_000019"
            rng = np.random.default_rng(i)
            # Every fixture label id appears in vertical stripes, shuffled per image.
            stripes = rng.permutation(ids)
            labels = np.repeat(stripes, -(-width // len(stripes)))[:width][None, :].repeat(height, 0)
            image_dir = root / "leftImg8bit" / split / city
            label_dir = root / "gtFine" / split / city
            image_dir.mkdir(parents=True, exist_ok=True)
            label_dir.mkdir(parents=True, exist_ok=True)
            colours = {int(v): tuple(int(c) for c in rng.integers(0, 256, 3)) for v in ids}
            Image.fromarray(render(labels, colours, i)).save(image_dir / f"{stem}_leftImg8bit.png")
            Image.fromarray(labels.astype(np.uint8), mode="L").save(label_dir / f"{stem}_gtFine_labelIds.png")
            # The official tree also holds colour and instance files: they must be ignored.
            Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(label_dir / f"{stem}_gtFine_color.png")
    return root


@pytest.fixture
def camvid_root(tmp_path: Path) -> Path:
    return write_camvid(tmp_path / "camvid", {"train": 8, "val": 4, "test": 2})


@pytest.fixture
def cityscapes_root(tmp_path: Path) -> Path:
    return write_cityscapes(tmp_path / "cityscapes", {"train": 4, "val": 2})
