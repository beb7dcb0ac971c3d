import numpy as np

from roadseg.categories import (
    CAMVID_CLASS_TO_CATEGORY_ID,
    CATEGORIES,
    CATEGORY_PALETTE,
    CITYSCAPES_LABEL_ID_TO_CATEGORY_ID,
    colorize,
)


def test_categories_are_the_official_eight_in_id_order():
    assert [(c.id, c.name) for c in CATEGORIES] == [
        (0, "void"),
        (1, "flat"),
        (2, "construction"),
        (3, "object"),
        (4, "nature"),
        (5, "sky"),
        (6, "human"),
        (7, "vehicle"),
    ]


def test_colours_come_from_the_label_table():
    # flat takes road's colour, vehicle car's, void unlabeled's black.
    assert CATEGORIES[1].color == (128, 64, 128)
    assert CATEGORIES[7].color == (0, 0, 142)
    assert CATEGORIES[0].color == (0, 0, 0)
    assert len({c.color for c in CATEGORIES}) == 8


def test_cityscapes_34_label_ids_map_to_their_categories():
    expected = [0] * 7 + [1] * 4 + [2] * 6 + [3] * 4 + [4] * 2 + [5] + [6] * 2 + [7] * 8
    assert CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[:34].tolist() == expected
    assert CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[255] == 0  # out of range -> void


def test_camvid_11_classes_map_as_the_data_readme_says():
    assert CAMVID_CLASS_TO_CATEGORY_ID[:12].tolist() == [5, 2, 3, 1, 1, 4, 3, 2, 7, 6, 6, 0]


def test_colorize_paints_each_id_with_its_colour():
    ids = np.array([[0, 1], [5, 7]], dtype=np.uint8)
    rgb = colorize(ids)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[1, 0] == CATEGORY_PALETTE[5]).all()


def test_static_table_matches_the_official_cityscapes_label_table():
    """The runtime images do without cityscapesscripts; this keeps the written-out table honest."""
    from cityscapesscripts.helpers.labels import labels

    official = {label.id: label for label in labels if label.id >= 0}
    assert CITYSCAPES_LABEL_ID_TO_CATEGORY_ID[: len(official)].tolist() == [
        official[i].categoryId for i in range(len(official))
    ]
    for category in CATEGORIES:
        members = [label for label in labels if label.id >= 0 and label.categoryId == category.id]
        assert {label.category for label in members} == {category.name}
        evaluated = [label for label in members if not label.ignoreInEval] or members
        assert category.color == tuple(evaluated[0].color)
