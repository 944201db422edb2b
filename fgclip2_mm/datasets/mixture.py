"""``FGCLIP2DatasetMixture``: several pretraining datasets behind one index space."""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..registry import DATASETS
from ..utils.build import build_owned
from .record_validation import LANGS

_REQUIRED = ('get_data_info', 'get_lang_codes', 'set_mixture_position', 'full_init')


@DATASETS.register_module()
class FGCLIP2DatasetMixture(Dataset):
    """Concatenation of datasets that keeps every sample's language and dataset id.

    Index ``i`` of the mixture is sample ``i - offset[d]`` of dataset ``d`` (datasets in
    the given order). Each dataset keeps its own pipeline and its own bad-sample policy:
    a sample replaced at load time is replaced from the *same* dataset, so its language
    never changes. ``sample_idx`` is the mixture index and ``dataset_id`` is ``d`` (both
    set on the children through ``set_mixture_position``).

    Use it with :class:`~fgclip2_mm.datasets.samplers.FGCLIP2BilingualBatchSampler`, which
    reads :meth:`get_lang_codes` (and :meth:`get_image_sizes` for NaFlex bucketing).

    Example::

        dataset = dict(type='fgclip2_mm.FGCLIP2DatasetMixture',
                       datasets=[train_en, train_zh])

    Args:
        datasets (Sequence[dict | Dataset]): Configs (built in the ``fgclip2_mm`` scope) or
            built datasets, each providing ``get_data_info``, ``get_lang_codes``,
            ``set_mixture_position`` and ``full_init`` (the FG-CLIP 2 record datasets).
            Mixtures cannot be nested.
        lazy_init (bool): Defer ``full_init`` (of the children too). Defaults to False.
    """

    def __init__(self, datasets: Sequence, lazy_init: bool = False) -> None:
        if isinstance(datasets, (dict, str)) or not isinstance(datasets, Sequence) or \
                not datasets:
            raise ValueError(f'datasets must be a non-empty list of dataset configs or '
                             f'datasets, got {datasets!r}')
        built, missing = [], []
        for k, item in enumerate(datasets):
            if isinstance(item, dict):
                item = copy.deepcopy(item)
                item.setdefault('lazy_init', True)  # initialised in full_init, in order
                try:
                    item = build_owned(item, DATASETS)
                except FileNotFoundError as err:  # collected: report every child at once
                    missing.append(str(err))
                    continue
            if isinstance(item, FGCLIP2DatasetMixture):
                raise ValueError(f'datasets[{k}] is a mixture; list its datasets instead')
            lacking = [m for m in _REQUIRED if not hasattr(item, m)]
            if lacking:
                raise ValueError(f'datasets[{k}] ({type(item).__name__}) lacks {lacking}; '
                                 'use FGCLIP2FineHARDDataset / FGCLIP2ChinesePairDataset')
            built.append(item)
        if missing:
            raise FileNotFoundError('\n'.join(missing))
        self.datasets: List[Dataset] = built
        self._starts: Optional[np.ndarray] = None
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Initialise the children and fix every child's offset; idempotent.

        Raises:
            FileNotFoundError: One error listing the missing paths of every child (and
                how to get each dataset), so a run without data names all of them.
        """
        if self._starts is not None:
            return
        missing = []
        for dataset in self.datasets:  # report the missing paths of every child at once
            try:
                dataset.full_init()
            except FileNotFoundError as err:
                missing.append(str(err))
        if missing:
            raise FileNotFoundError('\n'.join(missing))
        sizes = [len(dataset) for dataset in self.datasets]
        self._starts = np.cumsum([0] + sizes).astype(np.int64)
        for k, dataset in enumerate(self.datasets):
            dataset.set_mixture_position(k, int(self._starts[k]))

    @property
    def metainfo(self) -> dict:
        """dict: ``langs`` and ``dataset_types`` of the children, in order."""
        return {'langs': [d.metainfo.get('lang') for d in self.datasets],
                'dataset_types': [type(d).__name__ for d in self.datasets]}

    def __len__(self) -> int:
        self.full_init()
        return int(self._starts[-1])

    def locate(self, idx: int) -> tuple:
        """``(dataset id, index in that dataset)`` of mixture index ``idx``."""
        n = len(self)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or \
                not -n <= idx < n:
            raise IndexError(f'FGCLIP2DatasetMixture: index {idx!r} out of range for {n} '
                             'samples')
        idx = int(idx) % n
        k = int(np.searchsorted(self._starts, idx, 'right')) - 1
        return k, idx - int(self._starts[k])

    def get_data_info(self, idx: int) -> dict:
        """The raw fields of mixture sample ``idx`` (see the child datasets)."""
        k, local = self.locate(idx)
        return self.datasets[k].get_data_info(local)

    def __getitem__(self, idx: int):
        k, local = self.locate(idx)
        return self.datasets[k][local]

    def get_lang_codes(self) -> np.ndarray:
        """np.ndarray: uint8 (N,) language of every sample (index into ``LANGS``)."""
        self.full_init()
        parts = [np.asarray(d.get_lang_codes(), dtype=np.uint8) for d in self.datasets]
        codes = np.concatenate(parts)
        if codes.size and codes.max() >= len(LANGS):
            raise ValueError(f'language codes must index {LANGS}, got {np.unique(codes)}')
        return codes

    def get_dataset_ids(self) -> np.ndarray:
        """np.ndarray: int32 (N,) dataset id of every sample."""
        self.full_init()
        return np.repeat(np.arange(len(self.datasets), dtype=np.int32), np.diff(self._starts))

    def get_image_sizes(self) -> np.ndarray:
        """np.ndarray: int32 (N, 2) ``(height, width)`` of every sample (0 when unknown)."""
        self.full_init()
        return np.concatenate([np.asarray(d.get_image_sizes(), dtype=np.int32)
                               for d in self.datasets])

    def describe(self) -> str:
        """str: One line per child dataset (samples, records and counted problems)."""
        self.full_init()
        return '\n'.join(f'datasets[{k}]: ' + (d.describe() if hasattr(d, 'describe') else
                                                f'{type(d).__name__}: {len(d)} samples')
                         for k, d in enumerate(self.datasets))

    def log_load_summary(self, epoch: Optional[int] = None) -> Dict[int, dict]:
        """Log every child's load-time problems since the previous call.

        Returns:
            dict: ``{dataset id: {reason: count}}``.
        """
        return {k: d.log_load_summary(epoch) for k, d in enumerate(self.datasets)
                if hasattr(d, 'log_load_summary')}

    def __repr__(self) -> str:
        inner = ', '.join(repr(d) for d in self.datasets)
        return f'FGCLIP2DatasetMixture([{inner}])'
