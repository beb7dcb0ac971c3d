import pytest
import torch

from training.metrics import ConfusionMatrix


def test_confusion_matrix_and_metrics_match_a_hand_computation():
    # 3 categories in play: void 0, flat 1, construction 2 (others absent -> excluded from means).
    target = torch.tensor([0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 1, 2, 2, 2, 0, 1])
    cm = ConfusionMatrix(8)
    cm.update(target[:5], pred[:5])  # accumulated over batches, not averaged per batch
    cm.update(target[5:], pred[5:])
    expected = torch.zeros(8, 8, dtype=torch.int64)
    expected[0, 0], expected[0, 1] = 1, 1
    expected[1, 1], expected[1, 2] = 3, 1
    expected[2, 2], expected[2, 0], expected[2, 1] = 2, 1, 1
    assert torch.equal(cm.mat, expected)

    m = cm.compute()
    # Void ground truth ignored: flat tp 3, fp 1 (from construction), fn 1 -> 3/5; construction tp 2, fp 1, fn 2 -> 2/5.
    assert m["per_category"]["flat"]["iou"] == pytest.approx(3 / 5)
    assert m["per_category"]["construction"]["iou"] == pytest.approx(2 / 5)
    assert m["per_category"]["flat"]["dice"] == pytest.approx(6 / 8)
    assert m["per_category"]["construction"]["dice"] == pytest.approx(4 / 7)
    assert m["miou"] == pytest.approx((3 / 5 + 2 / 5) / 2)
    assert m["per_category"]["void"]["iou"] is None
    assert m["per_category"]["sky"]["iou"] is None  # absent everywhere
    # All 8: void tp 1, fp 1, fn 1 -> 1/3; flat fp includes void's pixel -> 3/6; construction 2/5.
    assert m["per_category"]["void"]["iou_8"] == pytest.approx(1 / 3)
    assert m["per_category"]["flat"]["iou_8"] == pytest.approx(3 / 6)
    assert m["miou_8"] == pytest.approx((1 / 3 + 3 / 6 + 2 / 5) / 3)
    assert m["pixel_accuracy"] == pytest.approx(5 / 8)


def test_perfect_prediction_scores_one():
    target = torch.randint(0, 8, (4, 16, 16))
    cm = ConfusionMatrix()
    cm.update(target, target)
    m = cm.compute()
    assert m["miou"] == pytest.approx(1.0) and m["miou_8"] == pytest.approx(1.0) and m["pixel_accuracy"] == 1.0
    assert "mIoU (7, void ignored) 1.000" in str(cm)
