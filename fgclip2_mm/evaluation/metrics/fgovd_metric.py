"""``FGCLIP2FGOVDMetric``: FG-OVD top-1 with the reference's tie rule (spec §6.5)."""
from typing import Dict, List, Sequence

import torch

from fgclip2_mm.registry import METRICS
from ..functional import positive_wins
from .base import FGCLIP2IndexedMetric

REFERENCE_NEGATIVES = 10


@METRICS.register_module()
class FGCLIP2FGOVDMetric(FGCLIP2IndexedMetric):
    """Fraction of FG-OVD records whose positive (text 0) gets the highest score.

    Consumes samples of :class:`~fgclip2_mm.datasets.FGCLIP2FGOVDDataset` carrying
    ``pred_scores`` (T,), the softmax over the record's texts of 100 x cosine as in the
    reference. A tie with the best negative counts as correct (the reference's rule). Since
    that rule rewards a collapsed model (all scores equal), ``acc_strict`` (the positive
    strictly above every negative) and ``num_ties`` are reported as well. Every record is
    in the denominator; records that failed to load count as wrong.

    Output: ``acc`` (reference rule), ``acc_strict``, ``num_records``, ``num_ties``,
    ``num_short_negatives`` (records with fewer than 10 negatives, scored over the texts
    they have), ``num_failed``.

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'fgovd'``.
    """

    TASK = 'fgovd'
    default_prefix = 'fgovd'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Score each record with the tie rule."""
        for sample in data_samples:
            failed = self.check_sample(sample, ('pred_scores', ))
            num_negatives = int(sample.get('num_negatives', len(sample.get('texts', ())) - 1))
            correct = strict = False
            if not failed:
                scores = torch.as_tensor(sample['pred_scores']).float().reshape(-1).cpu()
                correct = positive_wins(scores, 0)
                strict = bool(scores.numel() == 1 or scores[0] > scores[1:].max())
            self.results.append(dict(sample_idx=sample['sample_idx'], correct=correct,
                                     strict=strict, num_negatives=num_negatives,
                                     failed=failed))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracy over every record."""
        results = self.ordered(results)
        total = len(results)
        correct = sum(r['correct'] for r in results)
        strict = sum(r['strict'] for r in results)
        return dict(
            acc=correct / total if total else 0.0,
            acc_strict=strict / total if total else 0.0,
            num_records=total,
            num_ties=correct - strict,
            num_short_negatives=sum(r['num_negatives'] < REFERENCE_NEGATIVES for r in results),
            num_failed=sum(r['failed'] for r in results))
