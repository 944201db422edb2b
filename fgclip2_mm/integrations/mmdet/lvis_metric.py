"""mmdet's ``LVISMetric`` made to work with numpy 2 (and with exhaustive COCO-style files).

The ``lvis`` package (0.5.3, the PyPI release mmdet imports) calls ``np.float`` in
``LVISEval.accumulate``; numpy 2 removed that alias, so every LVIS evaluation crashes.
The fix here is deliberate and scoped:

* :class:`FGCLIP2LVISEval` subclasses ``LVISEval`` and replaces ``accumulate`` with our own
  vectorised implementation of the same LVIS accumulation (precision at the 101 recall
  thresholds after the right-to-left running max, recall at the last detection; absent
  categories stay -1);
* :class:`FGCLIP2LVISMetric` subclasses mmdet's metric and, only while its
  ``compute_metrics`` runs, makes ``mmdet.evaluation.metrics.lvis_metric`` use that
  evaluator (the module attribute is restored in ``finally``).

Nothing in site-packages is edited, numpy is not downgraded and no global alias is added.
"""
import contextlib
from typing import Dict, Iterator

import numpy as np
from mmdet.evaluation.metrics import lvis_metric as mmdet_lvis_metric
from mmdet.evaluation.metrics.lvis_metric import LVISMetric

from fgclip2_mm.registry import METRICS

if mmdet_lvis_metric.LVISEval is None:  # the lvis package is missing
    raise ImportError('FGCLIP2LVISMetric needs the "lvis" package (pip install lvis '
                      '--no-deps; see tools/setup_env.sh)')

LVIS_IMAGE_FIELDS = ('neg_category_ids', 'not_exhaustive_category_ids')


class FGCLIP2LVISEval(mmdet_lvis_metric.LVISEval):
    """``lvis.LVISEval`` with a numpy-2-compatible :meth:`accumulate`."""

    def accumulate(self) -> None:
        """Accumulate ``self.eval_imgs`` into ``self.eval`` (precision (T, R, K, A), recall
        (T, K, A); -1 where a category has no ground truth)."""
        params = self.params
        if not self.eval_imgs:
            self.logger.warning('accumulate() called before evaluate()')
        cat_ids = params.cat_ids if params.use_cats else [-1]
        num_thrs, num_recalls = len(params.iou_thrs), len(params.rec_thrs)
        num_cats, num_areas, num_imgs = len(cat_ids), len(params.area_rng), len(params.img_ids)
        precision = -np.ones((num_thrs, num_recalls, num_cats, num_areas))
        recall = -np.ones((num_thrs, num_cats, num_areas))
        rec_thrs = np.asarray(params.rec_thrs, dtype=np.float64)
        pointers = {k: {a: {} for a in range(num_areas)} for k in range(num_cats)}
        for k in range(num_cats):
            for a in range(num_areas):
                start = (k * num_areas + a) * num_imgs
                entries = [e for e in self.eval_imgs[start:start + num_imgs] if e is not None]
                if not entries:
                    continue
                gt_ignore = np.concatenate([e['gt_ignore'] for e in entries])
                num_gt = int(np.count_nonzero(gt_ignore == 0))
                if num_gt == 0:
                    continue
                scores = np.concatenate([e['dt_scores'] for e in entries])
                order = np.argsort(-scores, kind='mergesort')  # stable, as LVIS
                dt_ids = np.concatenate([e['dt_ids'] for e in entries])[order]
                matched = np.concatenate([e['dt_matches'] for e in entries], axis=1)[:, order]
                ignored = np.concatenate([e['dt_ignore'] for e in entries], axis=1)[:, order]
                tps = np.logical_and(matched, np.logical_not(ignored))
                fps = np.logical_and(np.logical_not(matched), np.logical_not(ignored))
                pointers[k][a] = dict(dt_ids=dt_ids, tps=tps, fps=fps)
                tp_sum = np.cumsum(tps, axis=1, dtype=np.float64)
                fp_sum = np.cumsum(fps, axis=1, dtype=np.float64)
                num_dt = tp_sum.shape[1]
                for t in range(num_thrs):
                    rc = tp_sum[t] / num_gt
                    recall[t, k, a] = rc[-1] if num_dt else 0
                    pr = tp_sum[t] / (fp_sum[t] + tp_sum[t] + np.spacing(1))
                    pr = np.maximum.accumulate(pr[::-1])[::-1]  # max precision to the right
                    idx = np.searchsorted(rc, rec_thrs, side='left')
                    inside = idx < num_dt
                    precision[t, :, k, a] = np.where(inside, pr[np.minimum(idx, num_dt - 1)]
                                                     if num_dt else 0.0, 0.0)
        self.eval = dict(
            params=params,
            counts=[num_thrs, num_recalls, num_cats, num_areas],
            precision=precision,
            recall=recall,
            dt_pointers=pointers)


@contextlib.contextmanager
def numpy2_lvis_eval() -> Iterator[None]:
    """Make mmdet's LVIS metric module use :class:`FGCLIP2LVISEval` inside the block."""
    original = mmdet_lvis_metric.LVISEval
    mmdet_lvis_metric.LVISEval = FGCLIP2LVISEval
    try:
        yield
    finally:
        mmdet_lvis_metric.LVISEval = original


@METRICS.register_module()
class FGCLIP2LVISMetric(LVISMetric):
    """mmdet's ``LVISMetric`` (AP, APr / APc / APf for ``bbox`` and ``segm``) on numpy 2.

    Args:
        exhaustive_annotations (bool): For a COCO-style annotation file without LVIS's
            per-image ``neg_category_ids`` / ``not_exhaustive_category_ids`` (e.g. the
            synthetic world): treat every image as exhaustively annotated (negatives = all
            categories absent from it). When False, such a file raises ``ValueError``.
            Defaults to False.
        **kwargs: :class:`mmdet.evaluation.LVISMetric` arguments; ``ann_file`` is required
            (the frequency tags r / c / f come from its categories).
    """

    def __init__(self, exhaustive_annotations: bool = False, **kwargs) -> None:
        if kwargs.get('ann_file') is None:
            raise ValueError('FGCLIP2LVISMetric needs ann_file: the LVIS frequency groups '
                             '(APr / APc / APf) come from its categories')
        super().__init__(**kwargs)
        self._complete_gt(kwargs['ann_file'], exhaustive_annotations)

    def _complete_gt(self, ann_file: str, exhaustive: bool) -> None:
        data = self._lvis_api.dataset
        for cat in data['categories']:
            if cat.get('frequency') not in ('r', 'c', 'f'):
                raise ValueError(f'{ann_file}: category {cat.get("id")} '
                                 f'({cat.get("name")!r}) has no "frequency" in r / c / f')
        missing = [f for f in LVIS_IMAGE_FIELDS
                   if any(f not in img for img in data['images'])]
        if not missing:
            return
        if not exhaustive:
            raise ValueError(f'{ann_file}: images lack the LVIS fields {missing}; pass '
                             'exhaustive_annotations=True if every image is fully annotated')
        present = {}
        for ann in data['annotations']:
            present.setdefault(ann['image_id'], set()).add(ann['category_id'])
        all_cats = [cat['id'] for cat in data['categories']]
        for img in data['images']:
            here = present.get(img['id'], set())
            img.setdefault('neg_category_ids', [c for c in all_cats if c not in here])
            img.setdefault('not_exhaustive_category_ids', [])
        self._lvis_api._create_index()

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's LVIS evaluation, run with :class:`FGCLIP2LVISEval`."""
        with numpy2_lvis_eval():
            return super().compute_metrics(results)
