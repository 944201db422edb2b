"""Pure ranking maths of the zero-shot protocols (no model, no mmengine).

Tie rules (every protocol states its own; all are deterministic):

* **top-k classification** (image classification, box classification): the rank of the
  target is the number of classes scored strictly higher plus the number scored *equal*
  with a lower class index, i.e. its position in a stable descending sort. Top-1 is then
  exactly ``argmax == target`` (``torch.argmax`` returns the first maximum).
* **FG-OVD**: the positive (index 0) is correct when it reaches the maximum, ties count as
  correct (the reference's ``torch.equal(max, scores[0])``, spec §6.5).
* **retrieval**: the rank of a query is the position, in a stable descending sort of its
  scores, of its first relevant item (several captions per image for image->text).
"""
from typing import Dict, Iterable, Sequence

import torch

#: Rank given to a retrieval query without any relevant item (a miss at every k).
NO_RELEVANT = torch.iinfo(torch.int64).max


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """0-based rank of each row's target class under the stable-sort tie rule.

    Args:
        scores (Tensor): (N, C) scores (any monotone transform of the similarity).
        targets (Tensor): (N,) int64 target class indices in ``[0, C)``.

    Returns:
        Tensor: (N,) int64 ranks; 0 means top-1.
    """
    if scores.ndim != 2 or targets.ndim != 1 or scores.shape[0] != targets.shape[0]:
        raise ValueError(f'scores must be (N, C) and targets (N,), got {tuple(scores.shape)} '
                         f'and {tuple(targets.shape)}')
    num_classes = scores.shape[1]
    targets = targets.to(device=scores.device, dtype=torch.long)
    if targets.numel() and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(f'targets must lie in [0, {num_classes}), got '
                         f'[{int(targets.min())}, {int(targets.max())}]')
    target_score = scores.gather(1, targets[:, None])
    index = torch.arange(num_classes, device=scores.device)[None]
    before = (scores > target_score) | ((scores == target_score) & (index < targets[:, None]))
    return before.sum(1)


def topk_from_ranks(ranks: torch.Tensor, topk: Iterable[int]) -> Dict[int, float]:
    """Fraction of ranks below each k (empty input gives 0.0 for every k)."""
    ranks = torch.as_tensor(ranks)
    total = ranks.numel()
    return {int(k): (float((ranks < k).sum()) / total if total else 0.0) for k in topk}


def positive_wins(scores: torch.Tensor, positive: int = 0) -> bool:
    """FG-OVD rule: True when ``scores[positive]`` is a maximum (ties count as correct).

    Args:
        scores (Tensor): (T,) scores of the positive and the negatives of one record.
        positive (int): Index of the positive. Defaults to 0.
    """
    if scores.ndim != 1 or not 0 <= positive < scores.shape[0]:
        raise ValueError(f'scores must be (T,) with T > {positive}, got {tuple(scores.shape)}')
    return bool(scores[positive] >= scores.max())


def first_relevant_ranks(sims: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Stable-sort rank of the first relevant item of every query.

    The first relevant item in a stable descending sort is the relevant item with the
    highest score (lowest index among equals); its position is the number of items scored
    higher plus the number scored equal with a lower index.

    Args:
        sims (Tensor): (Q, G) query-to-gallery scores.
        relevant (Tensor): (Q, G) bool, True for the relevant gallery items of each query.

    Returns:
        Tensor: (Q,) int64 ranks; :data:`NO_RELEVANT` (never within any k) for a query
        without any relevant item.
    """
    if sims.shape != relevant.shape or sims.ndim != 2:
        raise ValueError(f'sims and relevant must both be (Q, G), got {tuple(sims.shape)} and '
                         f'{tuple(relevant.shape)}')
    num_gallery = sims.shape[1]
    if num_gallery == 0:
        return torch.full((sims.shape[0], ), NO_RELEVANT, dtype=torch.long, device=sims.device)
    neg_inf = torch.finfo(sims.dtype).min
    best = torch.where(relevant, sims, torch.full_like(sims, neg_inf)).max(1, keepdim=True).values
    index = torch.arange(num_gallery, device=sims.device)[None].expand_as(sims)
    at_best = relevant & (sims == best)
    first = torch.where(at_best, index, torch.full_like(index, num_gallery)).min(1, keepdim=True)
    before = (sims > best) | ((sims == best) & (index < first.values))
    ranks = before.sum(1)
    return torch.where(relevant.any(1), ranks, torch.full_like(ranks, NO_RELEVANT))


def recall_at_k(ranks: torch.Tensor, ks: Sequence[int] = (1, 5, 10)) -> Dict[int, float]:
    """Recall@k from first-relevant ranks (same as :func:`topk_from_ranks`)."""
    return topk_from_ranks(ranks, ks)
