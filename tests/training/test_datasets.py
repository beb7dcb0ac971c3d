import numpy as np
import pytest
import torch
from PIL import Image

from roadseg.categories import CAMVID_CLASS_TO_CATEGORY_ID
from tests.conftest import CITYSCAPES_FIXTURE_LABELS
from training.datasets import build_dataset


def test_camvid_fixture_maps_11_classes_to_categories(camvid_root):
    dataset = build_dataset("camvid", camvid_root, "train")
    assert len(dataset) == 8
    image, mask = dataset[0]
    assert image.dtype == torch.uint8 and image.shape == (3, 48, 64)
    classes = np.asarray(Image.open(camvid_root / "trainannot" / dataset.pairs[0][0].name))
    assert set(np.unique(classes)) == set(range(12))  # every CamVid class is on the fixture
    for camvid_class in range(12):
        assert (mask.numpy()[classes == camvid_class] == CAMVID_CLASS_TO_CATEGORY_ID[camvid_class]).all()


def test_cityscapes_fixture_maps_label_ids_to_categories(cityscapes_root):
    dataset = build_dataset("cityscapes", cityscapes_root, "train")
    assert len(dataset) == 4  # *_gtFine_color.png files are not mistaken for samples
    for index in range(len(dataset)):
        _, mask = dataset[index]
        label_ids = np.asarray(Image.open(dataset.pairs[index][1]))
        for label_id, category in CITYSCAPES_FIXTURE_LABELS.items():
            assert (mask.numpy()[label_ids == label_id] == category).all()
        assert set(mask.unique().tolist()) == set(range(8))


def test_missing_label_file_is_a_clear_error(camvid_root):
    (camvid_root / "valannot" / "0001TP_000000.png").unlink()
    with pytest.raises(FileNotFoundError, match="missing annotation"):
        build_dataset("camvid", camvid_root, "val")


def test_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="leftImg8bit/train"):
        build_dataset("cityscapes", tmp_path, "train")


def test_images_cached_in_memory_are_the_decoded_files(camvid_root):
    import numpy as np
    import torch

    from training.datasets import build_dataset

    dataset = build_dataset("camvid", camvid_root, "train")
    from_files = [dataset[i] for i in range(len(dataset))]
    dataset.cache_in_memory()
    for image_path, label_path in dataset.pairs:
        image_path.unlink(), label_path.unlink()  # from now on only memory can answer
    for i, (image, mask) in enumerate(from_files):
        cached_image, cached_mask = dataset[i]
        assert torch.equal(cached_image, image) and torch.equal(cached_mask, mask)
        assert np.array_equal(dataset.category_mask(i), mask.numpy())


def test_cityscapes_reads_jpeg_images_as_png_ones(cityscapes_root):
    png = build_dataset("cityscapes", cityscapes_root, "train")
    image_path, _ = png.pairs[0]
    png_mask = png[0][1]
    Image.open(image_path).save(image_path.with_suffix(".jpg"), quality=95)
    image_path.unlink()
    jpeg = build_dataset("cityscapes", cityscapes_root, "train")
    assert len(jpeg) == len(png) and jpeg.pairs[0][0].name.endswith("_leftImg8bit.jpg")
    image, mask = jpeg[0]
    assert image.shape == (3, 32, 80) and torch.equal(mask, png_mask)


def test_cityscapes_image_and_label_of_different_sizes_is_a_clear_error(cityscapes_root):
    dataset = build_dataset("cityscapes", cityscapes_root, "val")
    image_path, _ = dataset.pairs[1]
    Image.open(image_path).resize((40, 16)).save(image_path)
    with pytest.raises(ValueError, match=r"label size \(32, 80\) differs from image size \(16, 40\)"):
        dataset[1]
