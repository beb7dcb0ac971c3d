import numpy as np
import pytest
import torch
from PIL import Image

from roadseg.preprocessing import model_input
from segmenter.weights import load_model
from tests.archives import write_constant_model
from tests.training.helpers import quick_train_argv
from training import train
from training.datasets import build_dataset
from training.distillation import UNLABELLED_ID, DistillationLoss, TeacherOnly
from training.losses import build_loss
from training.presets import TrainPreset


def test_the_loss_is_the_label_loss_plus_a_kl_that_vanishes_when_the_student_matches():
    torch.manual_seed(0)
    teacher, masks = torch.randn(2, 8, 6, 7), torch.randint(0, 8, (2, 6, 7))
    label_loss = build_loss("ce")
    kl_only = DistillationLoss(label_loss, temperature=3.0, kl_weight=1.0, label_weight=0.0)
    assert kl_only(teacher.clone(), masks, teacher).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.randn(2, 8, 6, 7)
    assert kl_only(student, masks, teacher).item() > 0.1
    both = DistillationLoss(label_loss, temperature=3.0, kl_weight=0.5, label_weight=2.0)
    expected = 0.5 * kl_only(student, masks, teacher) + 2.0 * label_loss(student, masks)
    assert both(student, masks, teacher).item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="temperature must be positive"):
        DistillationLoss(label_loss, temperature=0)


def test_images_with_withheld_labels_are_taught_by_the_teacher_alone():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 8, 6, 7), torch.randn(4, 8, 6, 7)
    masks = torch.randint(0, 8, (4, 6, 7))
    masks[1:3] = UNLABELLED_ID
    label_loss = build_loss("ce")
    both = DistillationLoss(label_loss, temperature=2.0, kl_weight=1.0, label_weight=1.0)
    kl_only = DistillationLoss(label_loss, temperature=2.0, kl_weight=1.0, label_weight=0.0)
    labelled = torch.tensor([0, 3])
    expected = kl_only(student, masks, teacher) + 0.5 * label_loss(student[labelled], masks[labelled])
    assert both(student, masks, teacher).item() == pytest.approx(expected.item(), rel=1e-5)
    masks[:] = UNLABELLED_ID
    assert both(student, masks, teacher).item() == pytest.approx(kl_only(student, masks, teacher).item(), rel=1e-6)


def test_teacher_only_copies_keep_the_images_and_withhold_every_label(camvid_root):
    images = build_dataset("camvid", camvid_root, "train")
    copies = TeacherOnly(images, TrainPreset.heavy(64, (48, 64)))
    assert len(copies) == len(images)
    image, mask = copies[0]
    assert image.shape == (3, 48, 64) and image.dtype == torch.float32
    assert mask.shape == (48, 64) and bool((mask == UNLABELLED_ID).all())


def share_of_teachers_category(run_dir, camvid_root, category: int) -> float:
    model, config = load_model(run_dir / "last.pt")
    shares = []
    for image in sorted((camvid_root / "val").glob("*.png")):
        x = torch.from_numpy(model_input(np.asarray(Image.open(image).convert("RGB")), config.short_side))[None]
        with torch.inference_mode():
            shares.append(float((model(x).argmax(1) == category).float().mean()))
    return float(np.mean(shares))


EPOCHS = 15  # 60 steps of 2 images: enough to move a small U-Net's answer everywhere


def test_with_the_labels_weight_at_zero_the_student_converges_to_the_teachers_masks(camvid_root, tmp_path):
    teacher, _ = write_constant_model(tmp_path / "teacher", category=5)  # sky everywhere, whatever the labels say
    taught, labelled = tmp_path / "taught", tmp_path / "labelled"
    common = ("--teacher", str(teacher), "--lr", "5e-2", "--precision", "fp32", "--loss", "ce")
    for run_dir, weights in ((taught, ("--label-weight", "0")), (labelled, ("--kl-weight", "0"))):
        argv = quick_train_argv(camvid_root, run_dir, *common, *weights, epochs=EPOCHS)
        train.main(train.parse_config(argv))
    assert share_of_teachers_category(taught, camvid_root, 5) > 0.95
    assert share_of_teachers_category(labelled, camvid_root, 5) < 0.5  # the labels alone teach otherwise


def test_teacher_only_copies_join_the_epoch_and_leave_the_class_weights_alone(camvid_root, tmp_path):
    teacher, _ = write_constant_model(tmp_path / "teacher", category=5)

    def loaders(*extra: str):
        argv = quick_train_argv(camvid_root, tmp_path / "run", "--class-weights", "median_freq", *extra)
        return train.make_loaders(train.parse_config(argv), 64, (48, 64), torch.device("cpu"))[0]

    plain, taught = loaders("--teacher", str(teacher)), loaders("--teacher", str(teacher), "--unlabelled-repeat", "2")
    assert len(taught.dataset) == 3 * len(plain.dataset)
    np.testing.assert_allclose(
        train.training_class_weights(taught.dataset, "median_freq"),
        train.training_class_weights(plain.dataset, "median_freq"),
    )
    with pytest.raises(SystemExit, match="needs a teacher"):
        loaders("--unlabelled-repeat", "1")
