import pytest
import torch
import torch.nn.functional as F

from segmenter.models.pooling import adaptive_avg_pool2d


@pytest.mark.parametrize("shape", [(2, 3, 12, 16), (1, 4, 7, 9), (1, 1, 3, 5), (1, 2, 6, 6)])
@pytest.mark.parametrize("size", [1, 2, 3, 6])
def test_matches_torch_adaptive_average_pooling(shape, size):
    x = torch.randn(*shape)
    assert torch.allclose(adaptive_avg_pool2d(x, size), F.adaptive_avg_pool2d(x, size), atol=1e-6)
