"""The 8 Cityscapes categories: ids, names, colours and the label maps onto them.

One source of truth: training, the TorchServe handler, the gateway and the app all import this.
The Cityscapes part is read from the official label table shipped by `cityscapesscripts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CITYSCAPES_LABELS


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: tuple[int, int, int]


def _categories_from_label_table() -> tuple[Category, ...]:
    """One entry per official category id; its colour is that of its first evaluated label (road for flat)."""
    first_label, first_evaluated = {}, {}
    for label in _CITYSCAPES_LABELS:
        if label.id < 0:  # license plate: outside the 34 label ids
            continue
        first_label.setdefault(label.categoryId, label)
        if not label.ignoreInEval:
            first_evaluated.setdefault(label.categoryId, label)
    return tuple(
        Category(cid, first_label[cid].category, tuple(first_evaluated.get(cid, first_label[cid]).color))
        for cid in sorted(first_label)
    )


CATEGORIES: tuple[Category, ...] = _categories_from_label_table()
NUM_CATEGORIES = len(CATEGORIES)
VOID_ID = 0
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
# (NUM_CATEGORIES, 3) uint8: row i is the RGB colour of category i.
CATEGORY_PALETTE = np.array([c.color for c in CATEGORIES], dtype=np.uint8)

# Cityscapes: the 34 label ids (gtFine *_labelIds.png) -> category id; anything else is void.
CITYSCAPES_LABEL_ID_TO_CATEGORY_ID = np.full(256, VOID_ID, dtype=np.uint8)
for _label in _CITYSCAPES_LABELS:
    if _label.id >= 0:
        CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[_label.id] = _label.categoryId

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


def category_ids_from_cityscapes_label_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map a gtFine labelIds array (uint8) to category ids 0..7."""
    return CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[label_ids]


def category_ids_from_camvid_classes(class_ids: np.ndarray) -> np.ndarray:
    """Map a SegNet CamVid annotation (0..11) to category ids 0..7."""
    return CAMVID_CLASS_TO_CATEGORY_ID[class_ids]


def colorize(category_ids: np.ndarray) -> np.ndarray:
    """(H, W) category ids -> (H, W, 3) uint8 RGB in the category colours."""
    return CATEGORY_PALETTE[np.clip(category_ids, 0, NUM_CATEGORIES - 1)]
