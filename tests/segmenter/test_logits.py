import torch

from segmenter.logits import logits_at_size


def test_logits_at_size_resizes_bilinearly_and_leaves_the_right_size_alone():
    logits = torch.randn(2, 8, 9, 13)
    assert logits_at_size(logits, (9, 13)) is logits
    resized = logits_at_size(logits, (18, 26))
    assert resized.shape == (2, 8, 18, 26)
    expected = torch.nn.functional.interpolate(logits, size=(18, 26), mode="bilinear", align_corners=False)
    assert torch.allclose(resized, expected)
