"""The 8 Cityscapes categories: ids, names, colours and the label maps onto them.

One source of truth: training, the TorchServe handler, the gateway and the app all read this. The
table is written out here (no `cityscapesscripts` at run time); a test checks it against the official
label table (`cityscapesscripts`, in the dev extras).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: tuple[int, int, int]


# Official category ids; each colour is that of the category's first evaluated label (road for flat).
CATEGORIES: tuple[Category, ...] = (
    Category(0, "void", (0, 0, 0)),
    Category(1, "flat", (128, 64, 128)),
    Category(2, "construction", (70, 70, 70)),
    Category(3, "object", (153, 153, 153)),
    Category(4, "nature", (107, 142, 35)),
    Category(5, "sky", (70, 130, 180)),
    Category(6, "human", (220, 20, 60)),
    Category(7, "vehicle", (0, 0, 142)),
)
NUM_CATEGORIES = len(CATEGORIES)
VOID_ID = 0
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
# (NUM_CATEGORIES, 3) uint8: row i is the RGB colour of category i.
CATEGORY_PALETTE = np.array([c.color for c in CATEGORIES], dtype=np.uint8)

# Cityscapes: the category of each of the 34 label ids (gtFine *_labelIds.png); anything else is void.
CITYSCAPES_LABEL_CATEGORIES: tuple[int, ...] = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,  # unlabeled, ego vehicle, rectification border, out of roi, static, dynamic, ground
    1,
    1,
    1,
    1,  # road, sidewalk, parking, rail track
    2,
    2,
    2,
    2,
    2,
    2,  # building, wall, fence, guard rail, bridge, tunnel
    3,
    3,
    3,
    3,  # pole, polegroup, traffic light, traffic sign
    4,
    4,  # vegetation, terrain
    5,  # sky
    6,
    6,  # person, rider
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,  # car, truck, bus, caravan, trailer, train, motorcycle, bicycle
)
CITYSCAPES_LABEL_ID_TO_CATEGORY_ID = np.full(256, VOID_ID, dtype=np.uint8)
CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[: len(CITYSCAPES_LABEL_CATEGORIES)] = CITYSCAPES_LABEL_CATEGORIES

# CamVid, SegNet's 11-class version (index 11 = Unlabelled): class names and their category.
CAMVID_CLASSES: tuple[tuple[str, str], ...] = (
    ("Sky", "sky"),
    ("Building", "construction"),
    ("Pole", "object"),
    ("Road", "flat"),
    ("Pavement", "flat"),
    ("Tree", "nature"),
    ("SignSymbol", "object"),
    ("Fence", "construction"),
    ("Car", "vehicle"),
    ("Pedestrian", "human"),
    ("Bicyclist", "human"),
    ("Unlabelled", "void"),
)
_CATEGORY_ID_BY_NAME = {c.name: c.id for c in CATEGORIES}
CAMVID_CLASS_TO_CATEGORY_ID = np.full(256, VOID_ID, dtype=np.uint8)
for _index, (_name, _category) in enumerate(CAMVID_CLASSES):
    CAMVID_CLASS_TO_CATEGORY_ID[_index] = _CATEGORY_ID_BY_NAME[_category]


def category_ids_from_camvid_classes(class_ids: np.ndarray) -> np.ndarray:
    """Map a SegNet CamVid annotation (0..11) to category ids 0..7."""
    return np.take(CAMVID_CLASS_TO_CATEGORY_ID, class_ids)


def colorize(category_ids: np.ndarray) -> np.ndarray:
    """(H, W) category ids -> (H, W, 3) uint8 RGB in the category colours."""
    rgb: np.ndarray = CATEGORY_PALETTE[np.clip(category_ids, 0, NUM_CATEGORIES - 1)]
    return rgb
