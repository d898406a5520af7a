"""The training input pipeline (train/common/input.py): worker read-ahead gives the batches of the run's sampler,
in order and bit for bit; a resumed pipeline continues exactly; the device-copy decision follows its limit."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from streetgen.data.cache import Cache
from train.common.input import CacheBatches, place_on_device, sorted_rows
from train.common.loop import ResumableSampler

CPU = torch.device("cpu")


def _take(batches: CacheBatches, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(rows.copy(), images.numpy().copy()) for rows, images in (batches.next() for _ in range(steps))]


def test_rows_are_the_samplers_sorted_and_mapped():
    assert sorted_rows(torch.tensor([5, 1, 3])).tolist() == [1, 3, 5]
    assert sorted_rows([2, 0], rows=np.array([10, 11, 12])).tolist() == [10, 12]


@pytest.mark.slow
def test_workers_give_the_samplers_batches_bit_for_bit(tiny_country_cache):
    cache = Cache(tiny_country_cache)
    split = np.arange(1, len(cache), 2)  # a subset of the rows, as the guide trainer's training split
    direct = CacheBatches(cache, ResumableSampler(len(split), 4, seed=3), device=CPU, rows=split)
    ahead = CacheBatches(cache, ResumableSampler(len(split), 4, seed=3), device=CPU, rows=split, num_workers=2)
    want, got = _take(direct, 9), _take(ahead, 9)  # 9 steps of 4 from 12 rows: three epochs
    ahead.close()
    for (rows_a, img_a), (rows_b, img_b) in zip(want, got):
        assert np.array_equal(rows_a, rows_b) and np.array_equal(img_a, img_b)
        assert np.array_equal(img_a, cache.images[rows_a]) and set(rows_a) <= set(split)
    assert len({tuple(r) for r, _ in want[:3]}) == 3  # the epoch's batches differ


@pytest.mark.slow
def test_a_resumed_pipeline_continues_exactly(tiny_country_cache):
    cache = Cache(tiny_country_cache)
    whole = _take(CacheBatches(cache, ResumableSampler(len(cache), 5, seed=1), device=CPU, num_workers=2), 10)
    first = ResumableSampler(len(cache), 5, seed=1)
    part = CacheBatches(cache, first, device=CPU, num_workers=2)
    _take(part, 4)  # the workers have read further ahead than this; the sampler's position has not moved past 4
    state = first.state_dict()
    part.close()
    resumed = ResumableSampler(len(cache), 5, seed=1)
    resumed.load_state_dict(state)
    rest = _take(CacheBatches(cache, resumed, device=CPU, num_workers=2), 6)
    for (rows_a, img_a), (rows_b, img_b) in zip(whole[4:], rest):
        assert np.array_equal(rows_a, rows_b) and np.array_equal(img_a, img_b)


@pytest.mark.slow
def test_the_loop_may_not_draw_from_the_sampler_behind_the_pipelines_back(tiny_country_cache):
    sampler = ResumableSampler(24, 4, seed=0)
    batches = CacheBatches(Cache(tiny_country_cache), sampler, device=CPU, num_workers=1)
    batches.next()
    sampler.next()  # a trainer drawing on its own: the workers' copy is now a batch behind
    with pytest.raises(RuntimeError, match="out of step"):
        batches.next()
    batches.close()


@pytest.mark.slow
def test_starting_workers_leaves_the_runs_random_streams_alone(tiny_country_cache):
    """DataLoader draws its workers' base seed from torch's global RNG unless given a generator; that draw would
    shift every later noise sample of the run (a run with workers would train differently from one without)."""
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    batches = CacheBatches(Cache(tiny_country_cache), ResumableSampler(24, 4, seed=0), device=CPU, num_workers=1)
    batches.next()
    assert torch.equal(torch.rand(3), expected)
    batches.close()


def test_a_worker_gets_the_cache_without_its_pixels(tiny_country_cache):
    """Workers receive the cache object, which pickles without its memory map (each worker maps the file)."""
    cache = Cache(tiny_country_cache)
    _ = cache.images[0]  # mapped in this process
    assert len(pickle.dumps(cache)) < cache.images.nbytes / 4


def test_on_device_copy_indexes_the_same_rows(tiny_country_cache):
    cache = Cache(tiny_country_cache)
    copied = CacheBatches(cache, ResumableSampler(len(cache), 6, seed=2), device=CPU, on_device=True)
    read = CacheBatches(cache, ResumableSampler(len(cache), 6, seed=2), device=CPU)
    for (rows_a, img_a), (rows_b, img_b) in zip(_take(copied, 5), _take(read, 5)):
        assert np.array_equal(rows_a, rows_b) and np.array_equal(img_a, img_b)


def test_a_cache_larger_than_the_device_limit_is_not_copied():
    cuda = torch.device("cuda")
    fits, why = place_on_device(3 * 2**30, cuda, limit_gb=2.0)
    assert not fits and "larger than the --device-cache-gb limit of 2 GiB" in why
    fits, why = place_on_device(2**30, cuda, limit_gb=2.0)
    assert fits and "copied whole" in why
    fits, why = place_on_device(2**20, CPU, limit_gb=2.0)
    assert not fits and "memory map" in why  # the CPU reads the map in place


@pytest.mark.slow
def test_a_cache_over_the_device_limit_is_read_by_workers_not_copied(tiny_country_cache, tmp_path, capsys):
    """The Trainer's choice on a (pretended) GPU: a cache over --device-cache-gb stays on the host, read by the
    DataLoader workers; -1 never copies. (This machine has no GPU: nothing is moved, only the choice is made.)"""
    from streetgen.data.shards import ShardedCache
    from train.common.loop import Trainer, TrainConfig, parse_config

    for limit in ("0.000001", "-1"):
        cfg = parse_config(TrainConfig, ["--device", "cpu", "--runs-dir", str(tmp_path), "--num-workers", "0",
                                         "--device-cache-gb", limit, "--batch-size", "4"])
        trainer = Trainer(cfg, [], entry="tests")
        trainer.device = torch.device("cuda")
        cache = ShardedCache(tiny_country_cache)
        batches = trainer.cache_batches(cache, trainer.make_sampler(len(cache)))
        assert not batches.on_device
        said = capsys.readouterr().out
        assert ("larger than the --device-cache-gb limit" if limit != "-1" else "--device-cache-gb -1") in said
