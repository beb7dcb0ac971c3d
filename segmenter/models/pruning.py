"""Drop the submodules a library model builds but never runs (e.g. the stages an smp encoder keeps beyond its depth):
their weights would be saved, shipped and left without gradients (which DistributedDataParallel refuses)."""

from __future__ import annotations

import torch
from torch import nn


def drop_unused_modules(net: nn.Module, sample_size: tuple[int, int] = (64, 64)) -> nn.Module:
    """Replace every parameterised submodule that a forward pass on a sample never reaches with `nn.Identity`."""
    called: set[int] = set()
    hooks = [m.register_forward_pre_hook(lambda module, _: called.add(id(module))) for m in net.modules()]
    training = net.training
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, 3, *sample_size))
    finally:
        for hook in hooks:
            hook.remove()
        net.train(training)
    dropped: list[str] = []
    for name, module in list(net.named_modules()):
        if not name or any(name.startswith(f"{d}.") for d in dropped):
            continue
        if not any(id(m) in called for m in module.modules()) and any(True for _ in module.parameters()):
            parent_name, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent_name), child, nn.Identity())
            dropped.append(name)
    return net
