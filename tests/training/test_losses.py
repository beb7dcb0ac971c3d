import pytest
import torch

from training.losses import build_loss


def test_combined_loss_is_ce_plus_dice():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 8, 9, 11), torch.randint(0, 8, (2, 9, 11))
    combined = build_loss("ce_dice")(logits, target)
    assert combined.item() == pytest.approx(build_loss("ce")(logits, target).item() + build_loss("dice")(logits, target).item())


def test_losses_are_lower_for_the_right_answer():
    target = torch.randint(0, 8, (2, 9, 11))
    right = torch.nn.functional.one_hot(target, 8).permute(0, 3, 1, 2).float() * 10
    wrong = torch.roll(right, 1, dims=1)
    for name in ("ce", "dice", "ce_dice"):
        loss = build_loss(name)
        assert loss(right, target) < loss(wrong, target)


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("focal")
