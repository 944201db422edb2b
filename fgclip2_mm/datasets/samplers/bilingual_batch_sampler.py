"""``FGCLIP2BilingualBatchSampler``: single-language global batches, reshuffled per epoch."""
from typing import Iterator, List, Optional, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from ...registry import DATA_SAMPLERS
from ..no_training_data import check_has_batches
from ..record_validation import LANGS
from .naflex_buckets import patch_budget_buckets


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return int(value)


@DATA_SAMPLERS.register_module()
class FGCLIP2BilingualBatchSampler(Sampler):
    """Batches in which every rank holds samples of the same language at the same step.

    As in the reference (spec section 4.2), a *global* batch (``batch_size`` per rank times
    the world size) is all English or all Chinese and the global batches of both languages
    are interleaved, so the language ratio follows the dataset sizes. Unlike the reference
    (bug list #20), the index list of each language is reshuffled every epoch, ``__len__``
    is the number of batches yielded, and a language may be absent or smaller than one
    global batch.

    Plan of an epoch (identical on every rank: it depends only on ``seed``, the epoch, the
    world size and the dataset, never on the rank):

    1. per language, permute its indices with ``default_rng([seed, epoch, lang])``
       (``shuffle=False``: dataset order);
    2. with ``bucket_by_budget``, order them by NaFlex patch budget (stable, so still
       random within a budget), cut full global batches per budget, pool the leftovers
       of all budgets (in budget order) and cut full batches from the pool; without it,
       cut full global batches from the permuted list;
    3. the remainder ``r`` (< one global batch) of each language: dropped with
       ``drop_last=True``; otherwise, when ``r >= world_size``, it is one more, smaller
       global batch (ranks differ by at most one sample); when ``r < world_size`` it is
       appended to that language's last full global batch (some ranks get
       ``batch_size + 1`` samples); a language with fewer samples than ranks is dropped
       with a warning (no rank may get an empty batch);
    4. order the global batches with ``default_rng([seed, epoch])`` (``shuffle=False``:
       interleaved in proportion to the languages' batch counts);
    5. rank ``r`` takes the ``r``-th contiguous slice of every global batch.

    So every index appears at most once per epoch, and exactly once with
    ``drop_last=False`` except for a language smaller than the world size.

    Rank and world size are read when iterating (``get_dist_info``), unless given.
    The epoch is the wrapped ``sampler``'s ``epoch`` when it has one (mmengine's
    ``DistSamplerSeedHook`` calls ``dataloader.batch_sampler.sampler.set_epoch``), else
    the value given to :meth:`set_epoch`. After the last batch of an epoch has been handed
    out, the dataset's ``log_load_summary(epoch)`` (if any) logs the load-time problems
    counted by this rank's workers (skips in batches still being prefetched then appear in
    the next summary).

    Config form for mmengine 0.10.7's ``Runner.build_dataloader``, which requires a
    ``sampler`` and builds the batch sampler with ``sampler=`` and ``batch_size=`` (the
    sampler is used only for its ``dataset``, ``seed`` and ``epoch``; its own order is
    ignored)::

        train_dataloader = dict(
            batch_size=64, num_workers=4, persistent_workers=True,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_sampler=dict(type='fgclip2_mm.FGCLIP2BilingualBatchSampler',
                               drop_last=True, bucket_by_budget=True),
            collate_fn=..., dataset=dict(type='fgclip2_mm.FGCLIP2DatasetMixture', ...))

    Args:
        sampler (Sampler, optional): The Runner-built sampler (source of ``dataset``,
            ``seed`` and ``epoch``).
        batch_size (int): Samples per rank per step.
        dataset (Dataset, optional): Overrides ``sampler.dataset``. Must provide
            ``get_lang_codes()`` (else ``get_data_info(i)['lang']`` is read for every i)
            and, for bucketing, ``get_image_sizes()``.
        drop_last (bool): Drop each language's incomplete global batch. Defaults to True.
        shuffle (bool): Shuffle per epoch. Defaults to True.
        seed (int, optional): Overrides ``sampler.seed``; default: a seed synchronised
            across ranks.
        bucket_by_budget (bool): Group batches by NaFlex patch budget. Defaults to False.
        patch_size (int): Patch side for the budgets. Defaults to 16.
        min_side (int, optional): As ``FGCLIP2NaFlexPatchify(min_side=...)``.
        small_image_size (int): As ``FGCLIP2NaFlexPatchify``. Defaults to 512.
        rank (int, optional): Fixed rank (tests); default: read when iterating.
        world_size (int, optional): Fixed world size (tests); default: read when iterating.
    """

    def __init__(self, sampler=None, batch_size: int = 1, dataset=None,
                 drop_last: bool = True, shuffle: bool = True, seed: Optional[int] = None,
                 bucket_by_budget: bool = False, patch_size: int = 16,
                 min_side: Optional[int] = None, small_image_size: int = 512,
                 rank: Optional[int] = None, world_size: Optional[int] = None) -> None:
        self.sampler = sampler
        self.dataset = dataset if dataset is not None else getattr(sampler, 'dataset', None)
        if self.dataset is None:
            raise ValueError('FGCLIP2BilingualBatchSampler needs a dataset (directly or as '
                             'sampler.dataset)')
        self.batch_size = _positive_int('batch_size', batch_size)
        self.drop_last, self.shuffle = bool(drop_last), bool(shuffle)
        self.bucket_by_budget = bool(bucket_by_budget)
        self.patch_size = _positive_int('patch_size', patch_size)
        self.min_side, self.small_image_size = min_side, small_image_size
        if world_size is not None:
            _positive_int('world_size', world_size)
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 0
                                 or (world_size is not None and rank >= world_size)):
            raise ValueError(f'rank must be an int in [0, world_size), got {rank!r}')
        self._rank, self._world_size = rank, world_size
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f'seed must be None or an int >= 0, got {seed!r}')
        self.seed = sync_random_seed() if seed is None else int(seed)
        self._epoch = 0
        self._codes: Optional[np.ndarray] = None
        self._budgets: Optional[np.ndarray] = None
        self._described = False

    # ------------------------------------------------------------------ state
    @property
    def epoch(self) -> int:
        """int: The epoch whose plan is iterated next."""
        value = getattr(self.sampler, 'epoch', None)
        return int(value) if isinstance(value, (int, np.integer)) else self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (also on the wrapped sampler, if it has ``set_epoch``)."""
        self._epoch = int(epoch)
        if self.sampler is not None and hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(int(epoch))

    def _dist(self) -> Tuple[int, int]:
        rank, world_size = get_dist_info()
        rank = rank if self._rank is None else self._rank
        world_size = world_size if self._world_size is None else self._world_size
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is not in [0, world_size={world_size})')
        return rank, world_size

    def lang_codes(self) -> np.ndarray:
        """np.ndarray: uint8 (N,) language code of every sample (cached)."""
        if self._codes is None:
            if hasattr(self.dataset, 'get_lang_codes'):
                codes = np.asarray(self.dataset.get_lang_codes(), dtype=np.int64)
            else:
                codes = np.array([LANGS.index(self.dataset.get_data_info(i)['lang'])
                                  for i in range(len(self.dataset))], dtype=np.int64)
            if codes.shape != (len(self.dataset), ) or (codes.size and (
                    codes.min() < 0 or codes.max() >= len(LANGS))):
                raise ValueError(f'language codes must be (N,) indices into {LANGS}')
            self._codes = codes.astype(np.uint8)
        return self._codes

    def budgets(self) -> np.ndarray:
        """np.ndarray: int32 (N,) NaFlex patch budget of every sample (cached)."""
        if self._budgets is None:
            if not hasattr(self.dataset, 'get_image_sizes'):
                raise ValueError(f'bucket_by_budget needs dataset.get_image_sizes(); '
                                 f'{type(self.dataset).__name__} has none')
            self._budgets = patch_budget_buckets(self.dataset.get_image_sizes(),
                                                 self.patch_size, self.min_side,
                                                 self.small_image_size)
        return self._budgets

    # ------------------------------------------------------------------- plan
    def _language_batches(self, idx: np.ndarray, glob: int,
                          world_size: int) -> Tuple[List[np.ndarray], int]:
        """Global batches of one (already permuted) language and the dropped count."""
        if self.bucket_by_budget and len(idx):
            budgets = self.budgets()[idx]
            order = np.argsort(budgets, kind='stable')
            idx, budgets = idx[order], budgets[order]
            groups = np.split(idx, np.flatnonzero(np.diff(budgets)) + 1)
        else:
            groups = [idx]
        full, rest = [], []
        for group in groups:
            cut = len(group) // glob * glob
            full += np.split(group[:cut], cut // glob) if cut else []
            rest.append(group[cut:])
        pooled = np.concatenate(rest) if rest else idx[:0]
        cut = len(pooled) // glob * glob
        full += np.split(pooled[:cut], cut // glob) if cut else []
        tail = pooled[cut:]
        if not len(tail) or self.drop_last:
            return full, len(tail)
        if len(tail) >= world_size:
            return full + [tail], 0
        if full:
            return full[:-1] + [np.concatenate([full[-1], tail])], 0
        return full, len(tail)

    def global_batches(self, epoch: int, world_size: int) -> List[np.ndarray]:
        """The epoch's global batches in step order (identical on every rank)."""
        codes, glob = self.lang_codes(), self.batch_size * world_size
        batches, langs, dropped = [], [], {}
        for code, lang in enumerate(LANGS):
            idx = np.flatnonzero(codes == code)
            if self.shuffle:
                idx = idx[np.random.default_rng([self.seed, epoch, code]).permutation(len(idx))]
            these, dropped[lang] = self._language_batches(idx, glob, world_size)
            batches += these
            langs += [code] * len(these)
            if dropped[lang] and not self.drop_last:
                print_log(f'FGCLIP2BilingualBatchSampler: {dropped[lang]} {lang} samples are '
                          f'fewer than the {world_size} ranks and are left out',
                          logger='current', level=30)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(batches))
        else:  # interleave: batch i of a language with n batches sits at (i + 0.5) / n
            langs = np.array(langs)
            key = np.zeros(len(batches))
            for code in range(len(LANGS)):
                mask = langs == code
                key[mask] = (np.arange(mask.sum()) + 0.5) / max(mask.sum(), 1)
            order = np.argsort(key, kind='stable')
        counts = {lang: int((codes == k).sum()) for k, lang in enumerate(LANGS)}
        check_has_batches(len(batches), self.dataset, counts, glob, self.drop_last, world_size)
        if not self._described:
            self._described = True
            print_log(f'FGCLIP2BilingualBatchSampler: {len(batches)} global batches of '
                      f'{glob} per epoch; samples {counts}; dropped per epoch {dropped}',
                      logger='current')
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[List[int]]:
        rank, world_size = self._dist()
        epoch = self.epoch
        for batch in self.global_batches(epoch, world_size):
            size, extra = divmod(len(batch), world_size)
            start = rank * size + min(rank, extra)
            yield batch[start:start + size + (rank < extra)].tolist()
        if hasattr(self.dataset, 'log_load_summary'):
            self.dataset.log_load_summary(epoch)

    def __len__(self) -> int:
        _, world_size = self._dist()
        codes, glob, total = self.lang_codes(), self.batch_size * world_size, 0
        for code in range(len(LANGS)):
            full, rest = divmod(int((codes == code).sum()), glob)
            total += full + int(not self.drop_last and rest >= world_size)
        return total
