"""FGCLIP2BilingualBatchSampler: single-language global batches, per-epoch reshuffling,
exact __len__, simulated ranks, NaFlex bucketing, mmengine Runner wiring."""
import itertools

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler
from mmengine.runner import Runner

from fgclip2_mm.datasets import FGCLIP2BilingualBatchSampler
from fgclip2_mm.datasets.samplers import bilingual_batch_sampler, patch_budget_buckets
from fgclip2_mm.datasets.transforms import select_patch_budget


class FakeDataset:
    """Language codes (0 en, 1 zh) and image sizes, as the record datasets provide."""

    def __init__(self, num_en, num_zh, sizes=None, order=None):
        codes = np.array([0] * num_en + [1] * num_zh, dtype=np.uint8)
        self.codes = codes if order is None else codes[order]
        self.sizes = sizes
        self.summaries = []

    def __len__(self):
        return len(self.codes)

    def get_lang_codes(self):
        return self.codes

    def get_image_sizes(self):
        return self.sizes

    def log_load_summary(self, epoch=None):
        self.summaries.append(epoch)


class _NoSizes:
    """A generic dataset: languages only through ``get_data_info``, no image sizes."""

    def __len__(self):
        return 4

    def get_data_info(self, idx):
        return {'lang': 'en' if idx < 2 else 'zh'}


def _ranks(dataset, world_size, epoch=0, **kwargs):
    """Batches of every simulated rank for one epoch."""
    out = []
    for rank in range(world_size):
        sampler = FGCLIP2BilingualBatchSampler(dataset=dataset, rank=rank,
                                               world_size=world_size, seed=7, **kwargs)
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)  # __len__ is what is yielded, on every rank
        out.append(batches)
    return out


@pytest.mark.parametrize('world_size,drop_last',
                         list(itertools.product((1, 2, 3), (True, False))))
def test_global_batches_share_a_language_and_cover_each_index_once(world_size, drop_last):
    dataset = FakeDataset(53, 29, order=np.random.default_rng(1).permutation(82))
    ranks = _ranks(dataset, world_size, batch_size=4, drop_last=drop_last)
    assert len({len(batches) for batches in ranks}) == 1
    seen = []
    for step in zip(*ranks):
        langs = {int(dataset.codes[i]) for batch in step for i in batch}
        assert len(langs) == 1  # every rank: the same language at this step
        flat = [i for batch in step for i in batch]
        assert len(flat) == len(set(flat)) and all(len(batch) >= 1 for batch in step)
        assert max(len(b) for b in step) - min(len(b) for b in step) <= 1
        seen += flat
    assert len(seen) == len(set(seen))  # at most once per epoch
    glob = 4 * world_size
    if drop_last:
        assert len(seen) == (53 // glob + 29 // glob) * glob
    else:
        assert sorted(seen) == list(range(82))  # exactly once
        assert all(len(b) <= 5 for batches in ranks for b in batches)


def test_determinism_epochs_and_seeds():
    dataset = FakeDataset(40, 24)

    def plan(seed, epoch):
        sampler = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=4, seed=seed,
                                               rank=0, world_size=2)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert plan(3, 0) == plan(3, 0)
    assert plan(3, 0) != plan(3, 1) and plan(3, 0) != plan(4, 0)
    # Not only the batch order: the composition of the batches changes too (bug #20).
    batches = [{frozenset(b) for b in plan(3, e)} for e in (0, 1)]
    assert not batches[0] & batches[1]
    unshuffled = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=4, seed=3,
                                              shuffle=False, rank=0, world_size=1)
    assert list(unshuffled)[0] == [0, 1, 2, 3]
    langs = [int(dataset.codes[b[0]]) for b in unshuffled]
    assert langs == [0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0]  # interleaved 10:6


def test_language_ratio_follows_the_dataset_sizes():
    dataset = FakeDataset(3000, 1000)
    batches = list(FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=10, seed=0,
                                                rank=0, world_size=2))
    langs = np.array([dataset.codes[b[0]] for b in batches])
    assert (langs == 0).sum() == 150 and (langs == 1).sum() == 50
    first_half = langs[:100]
    assert 0.15 < first_half.mean() < 0.35  # interleaved, not one language after the other


def test_small_or_missing_language():
    only_en = FakeDataset(20, 0)
    sampler = FGCLIP2BilingualBatchSampler(dataset=only_en, batch_size=4, seed=0,
                                           rank=0, world_size=2)
    assert len(sampler) == len(list(sampler)) == 2  # no assertion that both exist
    tiny = FakeDataset(16, 5)
    assert len(FGCLIP2BilingualBatchSampler(dataset=tiny, batch_size=4, seed=0, rank=0,
                                            world_size=2)) == 2  # zh < one global batch
    ranks = _ranks(tiny, 2, batch_size=4, drop_last=False)
    zh = [[b for b in batches if tiny.codes[b[0]] == 1] for batches in ranks]
    assert [len(b[0]) for b in zh] == [3, 2]  # the 5 zh samples split across the ranks
    single = FakeDataset(16, 1)  # 1 zh sample, 2 ranks: cannot be split
    ranks = _ranks(single, 2, batch_size=4, drop_last=False)
    assert all(single.codes[i] == 0 for batches in ranks for b in batches for i in b)


def test_remainder_smaller_than_world_joins_the_last_batch():
    dataset = FakeDataset(17, 0)  # 2 global batches of 8 and 1 left over, 2 ranks
    ranks = _ranks(dataset, 2, batch_size=4, drop_last=False, shuffle=False)
    assert [len(b) for b in ranks[0]] == [4, 5] and [len(b) for b in ranks[1]] == [4, 4]
    assert sorted(i for batches in ranks for b in batches for i in b) == list(range(17))


def test_budget_buckets_match_select_patch_budget():
    rng = np.random.default_rng(0)
    sizes = np.concatenate([rng.integers(1, 900, (300, 2)), [[0, 0], [20, 600], [600, 20]]])
    got = patch_budget_buckets(sizes, 16)
    expected = [select_patch_budget(int(h), int(w), 16) if h else 128 for h, w in sizes]
    assert got.tolist() == expected
    squared = patch_budget_buckets(sizes, 16, min_side=128)
    small = (sizes < 128).any(1) & (sizes > 0).all(1)
    assert (squared[small] == select_patch_budget(512, 512)).all()
    assert (squared[~small] == got[~small]).all()


def test_bucketing_gives_batches_a_shared_budget():
    rng = np.random.default_rng(2)
    sides = np.array([100, 250, 330, 460, 640])
    sizes = np.stack([rng.choice(sides, 120), rng.choice(sides, 120)], 1)
    dataset = FakeDataset(80, 40, sizes=sizes, order=rng.permutation(120))
    budgets = patch_budget_buckets(sizes)
    ranks = _ranks(dataset, 2, batch_size=3, bucket_by_budget=True)
    mixed = 0
    for step in zip(*ranks):
        mixed += len({int(budgets[i]) for b in step for i in b}) > 1
    # Full batches of one budget first; only the pooled leftovers (at most one batch per
    # language and budget boundary) may mix budgets.
    assert mixed <= 2 * (len(set(budgets.tolist())) - 1)
    plain = _ranks(dataset, 2, batch_size=3)
    plain_mixed = sum(len({int(budgets[i]) for b in step for i in b}) > 1
                      for step in zip(*plain))
    assert plain_mixed > 2 * mixed
    with pytest.raises(ValueError, match='get_image_sizes'):
        list(FGCLIP2BilingualBatchSampler(dataset=_NoSizes(), batch_size=2, seed=0,
                                          bucket_by_budget=True, rank=0, world_size=1))


def test_generic_dataset_fallback_and_argument_checks():
    sampler = FGCLIP2BilingualBatchSampler(dataset=_NoSizes(), batch_size=2, seed=0,
                                           rank=0, world_size=1, shuffle=False)
    assert list(sampler) == [[0, 1], [2, 3]]
    for kwargs, match in ((dict(batch_size=0), 'batch_size'),
                          (dict(rank=2, world_size=2), 'rank must be'),
                          (dict(seed=-1), 'seed must be')):
        with pytest.raises(ValueError, match=match):
            FGCLIP2BilingualBatchSampler(dataset=_NoSizes(), **dict(dict(batch_size=2),
                                                                       **kwargs))
    with pytest.raises(ValueError, match='needs a dataset'):
        FGCLIP2BilingualBatchSampler(batch_size=2, seed=0)


def test_rank_and_world_are_read_when_iterating(monkeypatch):
    dataset = FakeDataset(24, 12)
    sampler = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=3, seed=5)
    single = list(sampler)
    monkeypatch.setattr(bilingual_batch_sampler, 'get_dist_info', lambda: (1, 2))
    assert len(sampler) == 6 and len(single) == 12
    explicit = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=3, seed=5, rank=1,
                                            world_size=2)
    assert list(sampler) == list(explicit)


def test_runner_config_form_and_epoch_from_the_sampler():
    dataset = FakeDataset(30, 18)
    loader = Runner.build_dataloader(dict(
        dataset=dataset, batch_size=4, num_workers=0, collate_fn=list,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_sampler=dict(type='fgclip2_mm.FGCLIP2BilingualBatchSampler')), seed=11)
    batch_sampler = loader.batch_sampler
    assert isinstance(batch_sampler.sampler, DefaultSampler) and batch_sampler.seed == 11
    assert len(loader) == len(batch_sampler) == 30 // 4 + 18 // 4
    batch_sampler.sampler.set_epoch(3)  # what DistSamplerSeedHook does
    assert batch_sampler.epoch == 3
    reference = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=4, seed=11, rank=0,
                                             world_size=1)
    reference.set_epoch(3)
    assert list(batch_sampler) == list(reference)
    # One load summary per epoch handed out (the Runner works on a deep copy).
    assert batch_sampler.dataset.summaries == [3] and batch_sampler.dataset is loader.dataset
