import pytest

from training.sampling import EpochSampler


def test_one_shuffle_per_seed_and_epoch():
    sampler = EpochSampler(10, seed=3)
    sampler.set_epoch(1)
    first = list(sampler)
    assert sorted(first) == list(range(10)) and len(sampler) == 10
    assert list(sampler) == first  # the same epoch twice: the same order
    sampler.set_epoch(2)
    assert list(sampler) != first
    again = EpochSampler(10, seed=3)
    again.set_epoch(1)
    assert list(again) == first  # another run (a resumed one) sees the same order


def test_skip_yields_the_rest_of_the_epoch():
    sampler = EpochSampler(10, seed=0)
    sampler.set_epoch(4)
    whole = list(sampler)
    sampler.set_epoch(4, skip=6)
    assert list(sampler) == whole[6:] and len(sampler) == 4
    with pytest.raises(ValueError, match="cannot skip 11"):
        sampler.set_epoch(4, skip=11)


def test_processes_share_out_the_epoch_padded_to_equal_parts():
    parts = [EpochSampler(7, seed=1, rank=rank, world_size=2) for rank in (0, 1)]
    for part in parts:
        part.set_epoch(0)
    orders = [list(part) for part in parts]
    assert [len(o) for o in orders] == [4, 4]
    assert set(orders[0]) | set(orders[1]) == set(range(7))
