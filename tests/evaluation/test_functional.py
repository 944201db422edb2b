"""The ranking maths on hand-computed cases (ties included) and against brute force."""
import pytest
import torch

from fgclip2_mm.evaluation.functional import (NO_RELEVANT, first_relevant_ranks,
                                              positive_wins, target_ranks, topk_from_ranks)


def test_target_ranks_by_hand_with_ties():
    scores = torch.tensor([
        [0.1, 0.9, 0.3],   # target 1 is the max -> rank 0
        [0.5, 0.5, 0.2],   # target 1 ties with class 0 (lower index first) -> rank 1
        [0.5, 0.5, 0.2],   # target 0 ties with class 1 (higher index) -> rank 0
        [0.7, 0.2, 0.2],   # target 2: 0.7 above, 0.2 tie at index 1 before it -> rank 2
    ])
    ranks = target_ranks(scores, torch.tensor([1, 1, 0, 2]))
    assert ranks.tolist() == [0, 1, 0, 2]
    assert topk_from_ranks(ranks, (1, 2)) == {1: 0.5, 2: 0.75}
    # Top-1 is exactly argmax (first maximum) on every row.
    argmax = scores.argmax(1)
    assert ((ranks == 0) == (argmax == torch.tensor([1, 1, 0, 2]))).all()


def test_target_ranks_brute_force():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 4, (200, 7), generator=gen).float()  # many ties
    targets = torch.randint(0, 7, (200, ), generator=gen)
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    expected = (order == targets[:, None]).float().argmax(1)
    assert torch.equal(target_ranks(scores, targets), expected)


def test_target_ranks_rejects_bad_targets():
    with pytest.raises(ValueError, match='targets must lie'):
        target_ranks(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r'\(N, C\)'):
        target_ranks(torch.zeros(3), torch.tensor([0]))


def test_positive_wins_tie_counts_as_correct():
    assert positive_wins(torch.tensor([0.4, 0.3, 0.1]))
    assert positive_wins(torch.tensor([0.4, 0.4, 0.1]))  # tie: correct (reference rule)
    assert not positive_wins(torch.tensor([0.3, 0.4, 0.1]))
    assert positive_wins(torch.tensor([0.2]))  # no negatives at all


def test_first_relevant_ranks_by_hand():
    sims = torch.tensor([
        [0.9, 0.1, 0.8, 0.3],  # relevant {2}: 0.9 above -> rank 1
        [0.5, 0.5, 0.5, 0.1],  # relevant {1, 2}: tie with 0 (lower index) -> rank 1
        [0.2, 0.6, 0.1, 0.6],  # relevant {3, 0}: best relevant 0.6 at 3, tie at 1 -> 1
        [0.2, 0.6, 0.1, 0.6],  # relevant {1}: best -> rank 0
        [0.2, 0.6, 0.1, 0.6],  # nothing relevant -> never a hit
    ])
    relevant = torch.zeros_like(sims, dtype=torch.bool)
    for row, cols in enumerate([[2], [1, 2], [3, 0], [1], []]):
        relevant[row, cols] = True
    ranks = first_relevant_ranks(sims, relevant)
    assert ranks[:4].tolist() == [1, 1, 1, 0]
    assert ranks[4] == NO_RELEVANT
    assert topk_from_ranks(ranks, (1, 2)) == {1: 0.2, 2: 0.8}


def test_first_relevant_ranks_brute_force():
    gen = torch.Generator().manual_seed(1)
    sims = torch.randint(0, 5, (64, 30), generator=gen).float()
    relevant = torch.rand(64, 30, generator=gen) < 0.1
    order = torch.sort(sims, dim=1, descending=True, stable=True).indices
    hit = relevant.gather(1, order)
    expected = torch.where(hit.any(1), hit.float().argmax(1),
                           torch.full((64, ), NO_RELEVANT))
    assert torch.equal(first_relevant_ranks(sims, relevant), expected)
    empty = first_relevant_ranks(torch.zeros(3, 0), torch.zeros(3, 0, dtype=torch.bool))
    assert (empty == NO_RELEVANT).all()
