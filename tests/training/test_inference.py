import torch

from training.inference import category_ids_from_logits, logits_at_size


def test_category_ids_match_argmax_of_the_upsampled_logits():
    torch.manual_seed(0)
    logits = torch.randn(2, 8, 9, 13)
    for size in [(9, 13), (37, 50), (5, 4)]:
        expected = logits_at_size(logits, size).argmax(1).to(torch.uint8)
        assert torch.equal(category_ids_from_logits(logits, size), expected)
