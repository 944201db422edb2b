"""Shared plumbing of the zero-shot metrics: one result per sample, keyed by its index.

mmengine's ``collect_results`` gathers the per-rank result lists and cuts the padding that
the distributed sampler adds, *assuming* the rank-interleaved order of ``DefaultSampler``.
We do not rely on that: every result carries its ``sample_idx``; :meth:`ordered` sorts by
it, drops duplicates and checks that every index ``0 .. size - 1`` is present, so a
gallery is complete, in dataset order and without padding duplicates whatever the sampler.
"""
from typing import List, Optional, Sequence

from mmengine.evaluator import BaseMetric

LOOP_HINT = ("run the evaluation with val_cfg=dict(type='fgclip2_mm.FGCLIP2ValLoop') / "
             "test_cfg=dict(type='fgclip2_mm.FGCLIP2TestLoop') (or "
             'fgclip2_mm.evaluation.evaluate_zero_shot), which writes the predictions')


class FGCLIP2IndexedMetric(BaseMetric):
    """Base metric whose results are dicts with a ``sample_idx`` (see module docstring).

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names.
    """

    TASK = ''

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self._size: Optional[int] = None

    def evaluate(self, size: int) -> dict:
        """Remember the dataset size for :meth:`ordered`, then evaluate as usual."""
        self._size = int(size)
        return super().evaluate(size)

    def check_sample(self, sample: dict, fields: Sequence[str]) -> bool:
        """Validate one predicted sample; returns True when it failed to load."""
        task = sample.get('eval_task')
        if task != self.TASK:
            raise ValueError(f'{type(self).__name__} evaluates eval_task={self.TASK!r} samples, '
                             f'got {task!r} (sample {sample.get("sample_idx")})')
        if 'sample_idx' not in sample:
            raise ValueError(f'{type(self).__name__}: a sample has no "sample_idx"')
        failed = bool(sample.get('load_failed', False))
        missing = [f for f in fields if f not in sample]
        if missing and not failed:
            raise ValueError(f'{type(self).__name__}: sample {sample["sample_idx"]} has no '
                             f'{missing}; {LOOP_HINT}')
        return failed

    def ordered(self, results: List[dict]) -> List[dict]:
        """Results sorted by ``sample_idx``, duplicates dropped, completeness checked."""
        by_index = {}
        for result in results:
            by_index.setdefault(int(result['sample_idx']), result)
        size = len(by_index) if self._size is None else self._size
        missing = sorted(set(range(size)) - set(by_index))
        extra = sorted(set(by_index) - set(range(size)))
        if missing or extra:
            raise ValueError(f'{type(self).__name__}: collected results do not cover the '
                             f'dataset of {size} samples exactly: {len(missing)} missing '
                             f'(first {missing[:5]}), {len(extra)} out of range '
                             f'(first {extra[:5]})')
        return [by_index[i] for i in range(size)]
