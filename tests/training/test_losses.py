import pytest
import torch

from training.losses import build_loss


def test_combined_loss_is_ce_plus_dice():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 8, 9, 11), torch.randint(0, 8, (2, 9, 11))
    combined = build_loss("ce_dice")(logits, target)
    assert combined.item() == pytest.approx(
        build_loss("ce")(logits, target).item() + build_loss("dice")(logits, target).item()
    )


def test_losses_are_lower_for_the_right_answer():
    target = torch.randint(0, 8, (2, 9, 11))
    right = torch.nn.functional.one_hot(target, 8).permute(0, 3, 1, 2).float() * 10
    wrong = torch.roll(right, 1, dims=1)
    for name in ("ce", "dice", "ce_dice", "lovasz", "ce_lovasz", "ohem_dice"):
        loss = build_loss(name)
        assert loss(right, target) < loss(wrong, target)


@pytest.mark.parametrize("absent", [None, 3])
def test_lovasz_matches_the_library_loss_and_its_gradients(absent):
    from segmentation_models_pytorch.losses import LovaszLoss

    torch.manual_seed(0)
    target = torch.randint(0, 8, (3, 13, 17))
    if absent is not None:  # a class missing from the batch is left out of the mean
        target[target == absent] = 0
    logits = torch.randn(3, 8, 13, 17, requires_grad=True)
    expected = LovaszLoss("multiclass", per_image=False, from_logits=True)(logits, target)
    (expected_gradient,) = torch.autograd.grad(expected, logits)
    loss = build_loss("lovasz")(logits, target)
    (gradient,) = torch.autograd.grad(loss, logits)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(gradient, expected_gradient)


def test_descending_order_sorts_each_row_ties_and_zeros_included():
    from training.losses import descending_order

    torch.manual_seed(0)
    values = torch.rand(3, 1000).round(decimals=2)  # many ties
    values[1, :500] = 0.0
    order = descending_order(values)
    assert order.dtype == torch.int64 and sorted(order[2].tolist()) == list(range(1000))
    torch.testing.assert_close(values.gather(1, order), values.sort(dim=1, descending=True).values, rtol=0, atol=0)


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("focal")


def test_ohem_averages_the_hard_pixels_only():
    from training.losses import OhemCrossEntropy

    target = torch.zeros(1, 4, 4, dtype=torch.long)
    logits = torch.zeros(1, 2, 4, 4)
    logits[:, 0] = 10.0  # every pixel easy (p(true) ~ 1)...
    logits[0, 0, 0, :2], logits[0, 1, 0, :2] = 0.0, 3.0  # ...but two, confidently wrong
    pixel = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    ohem = OhemCrossEntropy(threshold=0.7, min_kept_share=1 / 16)(logits, target)
    assert ohem.item() == pytest.approx(pixel[0, 0, :2].mean().item())
    # With a floor of half the pixels, the 8 hardest are kept.
    assert OhemCrossEntropy(min_kept_share=0.5)(logits, target).item() == pytest.approx(
        pixel.flatten().topk(8).values.mean().item()
    )


def test_class_weights_weight_the_ce_term():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 8, 9, 11), torch.randint(0, 8, (2, 9, 11))
    weights = torch.arange(1.0, 9.0)
    expected = torch.nn.functional.cross_entropy(logits, target, weight=weights) + build_loss("dice")(logits, target)
    assert build_loss("ce_dice", weights)(logits, target).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("name", ["ohem_dice", "ce_lovasz", "lovasz"])
def test_each_new_loss_decreases_when_a_model_trains_on_it(name, camvid_root):
    from roadseg.categories import NUM_CATEGORIES
    from segmenter.models import build_model
    from training.datasets import build_dataset
    from training.presets import EvalPreset

    torch.manual_seed(0)
    dataset = build_dataset("camvid", camvid_root, "train", EvalPreset(48))
    images, masks = map(torch.stack, zip(*(dataset[i] for i in range(4)), strict=True))
    model = build_model("unet_mini", width=0.5)
    loss_fn = build_loss(name, torch.linspace(0.5, 2.0, NUM_CATEGORIES))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = loss_fn(model(images), masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
