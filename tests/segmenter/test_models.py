import pytest
import torch
from safetensors.torch import load_file, save_file

from segmenter.models import MODEL_REGISTRY, build_model


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
@pytest.mark.parametrize("size", [(45, 67), (70, 101)])
def test_forward_returns_logits_of_input_size(name, size):
    model = build_model(name, width=0.25)
    images = torch.randn(2, 3, *size)
    logits = model(images)
    assert logits.shape == (2, 8, *size)
    logits.mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_full_width_vgg16_unet_is_the_published_size():
    model = build_model("vgg16_unet")
    params = sum(p.numel() for p in model.parameters())
    assert 23e6 < params < 25e6  # smp's Unet on a VGG16-BN encoder
    assert model(torch.randn(1, 3, 33, 47)).shape == (1, 8, 33, 47)


def test_width_reduces_parameters():
    full = sum(p.numel() for p in build_model("dilatednet").parameters())
    thin = sum(p.numel() for p in build_model("dilatednet", width=0.25).parameters())
    assert thin < full / 10


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'segformer'"):
        build_model("segformer")


def test_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        build_model("unet_mini", width=0.25)(torch.randn(1, 1, 32, 32))


def test_encoder_weights_load_from_a_local_state_dict(tmp_path):
    donor = build_model("vgg16_unet", width=0.25)
    path = tmp_path / "encoder.pt"
    torch.save(donor.encoder.state_dict(), path)
    model = build_model("vgg16_unet", width=0.25)
    model.load_encoder_weights(path)
    for key, value in donor.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[key], value)


def test_encoder_weights_that_match_nothing_are_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match="no tensor matches"):
        build_model("unet_mini", width=0.25).load_encoder_weights(path)


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
def test_weights_save_as_safetensors_and_rebuild_the_same_model(name, tmp_path):
    model = build_model(name, width=0.25)
    save_file(model.state_dict(), tmp_path / "w.safetensors")  # refuses tensors saved under two names
    rebuilt = build_model(name, width=0.25)
    rebuilt.load_state_dict(load_file(tmp_path / "w.safetensors"))
    assert rebuilt.state_dict().keys() == model.state_dict().keys()


def test_ddrnet23_slim_at_full_width_is_the_published_size():
    params = sum(p.numel() for p in build_model("ddrnet23_slim").parameters())
    assert 5.6e6 < params < 5.8e6  # Hong et al. 2021, Table: 5.7M


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
def test_batch_norm_statistics_catch_up_within_a_short_run(name):
    """After 40 training-mode passes over one batch, every batch norm's running mean is that batch's mean (within
    5 % of its spread): torchvision's MobileNetV3 keeps them at momentum 0.01, which a short run never caught up."""
    torch.manual_seed(0)
    model = build_model(name, width=0.25).train()
    for dropout in (m for m in model.modules() if isinstance(m, torch.nn.modules.dropout._DropoutNd)):
        dropout.eval()  # the same inputs on every pass
    inputs = {}
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.register_forward_pre_hook(lambda module, args: inputs.__setitem__(module, args[0].mean((0, 2, 3))))
    images = torch.randn(2, 3, 64, 96) * 3 + 1
    with torch.no_grad():
        for _ in range(40):
            model(images)
    for norm in norms:
        spread = inputs[norm].abs().max().item() + 1e-3
        assert (norm.running_mean - inputs[norm]).abs().max().item() < 0.05 * spread, norm
