import segmentation_models_pytorch as smp
import torch
from torch import nn

from segmenter.models.pruning import drop_unused_modules


def test_stages_a_shallow_encoder_never_runs_are_dropped_and_the_output_is_unchanged():
    torch.manual_seed(0)
    model = smp.PSPNet(encoder_name="resnet18", encoder_weights=None, classes=8).eval()
    assert sum(p.numel() for p in model.encoder.layer4.parameters()) > 0  # smp keeps it though depth 3 never runs it
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        before = model(x)
    drop_unused_modules(model)
    assert isinstance(model.encoder.layer3, nn.Identity) and isinstance(model.encoder.layer4, nn.Identity)
    assert not isinstance(model.encoder.layer2, nn.Identity)
    with torch.no_grad():
        assert torch.equal(model(x), before)
    model.train()(torch.randn(2, 3, 64, 96)).mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_a_model_that_uses_every_module_is_left_whole():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    drop_unused_modules(model)
    assert [type(m) for m in model] == [nn.Conv2d, nn.ReLU, nn.Conv2d]
