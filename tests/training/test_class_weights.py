import numpy as np
import pytest
from PIL import Image

from roadseg.categories import NUM_CATEGORIES, category_ids_from_camvid_classes
from tests.training.helpers import quick_train_argv
from training import train
from training.class_weights import category_frequencies, class_weights, median_frequency_weights

# Two 2x2 label images over 4 classes: class 0 in the first only, 1 in both, 2 in the second, 3 nowhere.
MASKS = [np.array([[0, 0], [1, 1]]), np.array([[1, 1], [1, 2]])]


def test_frequencies_count_only_the_images_where_a_class_appears():
    # 0: 2 px / 4 px of image 1; 1: 5 px / 8 px of both; 2: 1 px / 4 px of image 2; 3: unseen.
    assert category_frequencies(MASKS, 4) == pytest.approx([0.5, 0.625, 0.25, 0.0])


def test_median_frequency_weights_by_hand():
    # median(0.5, 0.625, 0.25) = 0.5 over the classes seen; an unseen class gets no weight.
    assert class_weights(MASKS, 4, "median_freq") == pytest.approx([1.0, 0.8, 2.0, 0.0])
    assert class_weights(MASKS, 4, "sqrt_median_freq") == pytest.approx([1.0, 0.8**0.5, 2**0.5, 0.0])
    assert class_weights(MASKS, 4, "none") is None
    assert median_frequency_weights(np.array([0.1, 0.1])) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="unknown class weighting"):
        class_weights(MASKS, 4, "inverse")


def test_the_run_computes_its_weights_from_the_training_split_and_stores_them(camvid_root, tmp_path):
    summary = train.main(
        train.parse_config(quick_train_argv(camvid_root, tmp_path / "run", "--class-weights", "median_freq", epochs=1))
    )
    train_masks = [
        category_ids_from_camvid_classes(np.asarray(Image.open(p)))
        for p in sorted((camvid_root / "trainannot").glob("*.png"))
    ]
    expected = class_weights(train_masks, NUM_CATEGORIES, "median_freq")
    assert summary["class_weighting"] == "median_freq"
    assert summary["class_weights"] == pytest.approx(expected, abs=1e-4)
    val_only = [
        category_ids_from_camvid_classes(np.asarray(Image.open(p)))
        for p in sorted((camvid_root / "valannot").glob("*.png"))
    ]
    assert summary["class_weights"] != pytest.approx(class_weights(val_only, NUM_CATEGORIES, "median_freq"), abs=1e-4)
