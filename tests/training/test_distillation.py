import numpy as np
import pytest
import torch
from PIL import Image

from roadseg.preprocessing import model_input
from segmenter.weights import load_model
from tests.archives import write_constant_model
from tests.training.helpers import quick_train_argv
from training import train
from training.distillation import DistillationLoss
from training.losses import build_loss


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
        train.main(train.get_args_parser().parse_args(argv))
    assert share_of_teachers_category(taught, camvid_root, 5) > 0.95
    assert share_of_teachers_category(labelled, camvid_root, 5) < 0.5  # the labels alone teach otherwise
