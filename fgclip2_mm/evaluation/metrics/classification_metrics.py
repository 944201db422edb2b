"""Top-k metrics of the classification protocols: box classification and image
classification (spec §6.1 and §6.4)."""
from typing import Dict, List, Sequence

import torch

from fgclip2_mm.registry import METRICS
from ..functional import target_ranks
from .base import FGCLIP2IndexedMetric


def _check_topk(topk: Sequence[int]) -> tuple:
    topk = tuple(int(k) for k in topk)
    if not topk or any(k < 1 for k in topk):
        raise ValueError(f'topk must be positive integers, got {topk}')
    return topk


def _summary(ranks: List[torch.Tensor], failed_items: int, topk: tuple) -> Dict[str, float]:
    """Top-k accuracies over every item; failed items count as wrong."""
    ranks = torch.cat(ranks) if ranks else torch.zeros(0, dtype=torch.long)
    total = int(ranks.numel()) + failed_items
    return {f'top{k}': (float((ranks < k).sum()) / total if total else 0.0) for k in topk}


@METRICS.register_module()
class FGCLIP2BoxClsMetric(FGCLIP2IndexedMetric):
    """Top-k accuracy of ground-truth box classification, over **every** box.

    Consumes samples of :class:`~fgclip2_mm.datasets.FGCLIP2BoxClsDataset` carrying
    ``pred_scores`` (K, C) (region-class cosines written by the predictor) and
    ``gt_labels`` (K,). Rank of a box = number of classes scored higher, plus those scored
    equal with a lower index (top-1 == ``argmax``, first maximum). Boxes of an image that
    failed to load count as wrong.

    Output: ``top1``, ``top5`` (fractions in [0, 1], for each ``topk``), ``num_boxes``,
    ``num_images``, ``num_failed_images``, ``num_failed_boxes``.

    Args:
        topk (Sequence[int]): Defaults to (1, 5).
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'box_cls'``.
    """

    TASK = 'box_cls'
    default_prefix = 'box_cls'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs) -> None:
        super().__init__(**kwargs)
        self.topk = _check_topk(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce each image's scores to the ranks of its boxes."""
        for sample in data_samples:
            failed = self.check_sample(sample, ('pred_scores', 'gt_labels'))
            labels = torch.as_tensor(sample['gt_labels'], dtype=torch.long).reshape(-1)
            ranks = None
            if not failed:
                scores = torch.as_tensor(sample['pred_scores']).float()
                if scores.shape[0] != labels.shape[0]:
                    raise ValueError(f'sample {sample["sample_idx"]}: {scores.shape[0]} score '
                                     f'rows for {labels.shape[0]} boxes')
                ranks = target_ranks(scores.cpu(), labels)
            self.results.append(dict(sample_idx=sample['sample_idx'], ranks=ranks,
                                     num_boxes=int(labels.numel()), failed=failed))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Aggregate over every box of every image (failed ones as wrong)."""
        results = self.ordered(results)
        ranks = [r['ranks'] for r in results if not r['failed']]
        failed_boxes = sum(r['num_boxes'] for r in results if r['failed'])
        out = _summary(ranks, failed_boxes, self.topk)
        out.update(num_boxes=sum(r['num_boxes'] for r in results), num_images=len(results),
                   num_failed_images=sum(r['failed'] for r in results),
                   num_failed_boxes=failed_boxes)
        return out


@METRICS.register_module()
class FGCLIP2ImageClsMetric(FGCLIP2IndexedMetric):
    """Top-k accuracy of zero-shot image classification.

    Consumes samples of :class:`~fgclip2_mm.datasets.FGCLIP2ImageClsDataset` carrying
    ``pred_scores`` (C,) and ``gt_label``. Same tie rule as :class:`FGCLIP2BoxClsMetric`;
    an image that failed to load counts as wrong.

    Output: ``top1``, ``top5``, ``num_images``, ``num_failed``.

    Args:
        topk (Sequence[int]): Defaults to (1, 5).
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'zeroshot_cls'``.
    """

    TASK = 'image_cls'
    default_prefix = 'zeroshot_cls'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs) -> None:
        super().__init__(**kwargs)
        self.topk = _check_topk(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce each image's scores to the rank of its label."""
        for sample in data_samples:
            failed = self.check_sample(sample, ('pred_scores', 'gt_label'))
            rank = None
            if not failed:
                scores = torch.as_tensor(sample['pred_scores']).float().reshape(1, -1).cpu()
                rank = target_ranks(scores, torch.tensor([int(sample['gt_label'])]))
            self.results.append(dict(sample_idx=sample['sample_idx'], rank=rank, failed=failed))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Aggregate over every image (failed ones as wrong)."""
        results = self.ordered(results)
        failed = sum(r['failed'] for r in results)
        out = _summary([r['rank'] for r in results if not r['failed']], failed, self.topk)
        out.update(num_images=len(results), num_failed=failed)
        return out
