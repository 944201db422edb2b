"""The pure loss functions against plain-loop evaluations of the spec formulas (section 3)."""
import math

import pytest
import torch
import torch.nn.functional as F

from fgclip2_mm.models.losses import functional as LF


def unit(*shape, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=gen, dtype=dtype), dim=-1)


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def lse(values):
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def ce(logits, target):
    return lse(logits) - logits[target]


# ------------------------------------------------------------------------------ sigmoid
def loop_sigmoid(x, y, s, b, negative_only=False, valid=None):
    x, y = x.tolist(), y.tolist()
    total = 0.0
    for i in range(len(x)):
        for j in range(len(y)):
            if valid is not None and not valid[j]:
                continue
            label = 1.0 if (i == j and not negative_only) else -1.0
            z = math.exp(s) * dot(x[i], y[j]) + b
            total -= math.log(1.0 / (1.0 + math.exp(-label * z)))
    return total / len(x)


@pytest.mark.parametrize('negative_only', [False, True])
@pytest.mark.parametrize('valid', [None, [True, False, True]])
def test_sigmoid_pair_loss_matches_loops(negative_only, valid):
    x, y = unit(3, 4, seed=0), unit(3, 4, seed=1)
    mask = None if valid is None else torch.tensor(valid)
    s, b = torch.tensor(math.log(5.0), dtype=torch.float64), torch.tensor(-1.5).double()
    got = LF.sigmoid_pair_loss(x, y, s, b,
                               negative_only=negative_only, text_valid=mask)
    assert got.item() == pytest.approx(loop_sigmoid(x, y, math.log(5.0), -1.5, negative_only,
                                                    valid), rel=1e-12)


def test_sigmoid_negative_only_more_texts_and_masked_values_ignored():
    x, y = unit(2, 4, seed=0), unit(5, 4, seed=1)
    valid = torch.tensor([True, False, True, True, False])
    expected = loop_sigmoid(x, y, 1.0, -2.0, True, valid.tolist())
    y_garbage = y.clone()
    y_garbage[~valid] = 1e4  # masked columns may hold anything finite
    got = LF.sigmoid_pair_loss(x, y_garbage, 1.0, -2.0, negative_only=True, text_valid=valid)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_sigmoid_gradcheck_float64():
    x = unit(3, 4, seed=0).requires_grad_(True)
    y = unit(3, 4, seed=1).requires_grad_(True)
    s = torch.tensor([1.2], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([-0.7], dtype=torch.float64, requires_grad=True)
    valid = torch.tensor([True, True, False])
    assert torch.autograd.gradcheck(
        lambda *a: LF.sigmoid_pair_loss(*a, text_valid=valid), (x, y, s, b))
    assert torch.autograd.gradcheck(
        lambda *a: LF.sigmoid_pair_loss(*a, negative_only=True), (x, y, s, b))


def test_sigmoid_bf16_logsigmoid_in_fp32():
    x, y = unit(4, 8, dtype=torch.float32), unit(4, 8, seed=1, dtype=torch.float32)
    ref = LF.sigmoid_pair_loss(x, y, math.log(10.0), -10.0)
    got = LF.sigmoid_pair_loss(x.bfloat16(), y.bfloat16(), math.log(10.0), -10.0)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=2e-2, atol=2e-2)
    mixed = LF.sigmoid_pair_loss(x.bfloat16(), y, math.log(10.0), -10.0)
    assert mixed.dtype == torch.float32


def test_sigmoid_rejects_bad_shapes():
    with pytest.raises(ValueError, match='as many texts'):
        LF.sigmoid_pair_loss(unit(2, 4), unit(3, 4), 0.0, 0.0)
    with pytest.raises(ValueError, match='text_valid'):
        LF.sigmoid_pair_loss(unit(2, 4), unit(2, 4), 0.0, 0.0, text_valid=torch.ones(3) > 0)


# ------------------------------------------------------------------------------- region
def loop_region(v, t, s):
    v, t = v.tolist(), t.tolist()
    n, scale = len(v), math.exp(s)
    i2t = sum(ce([scale * dot(v[i], t[j]) for j in range(n)], i) for i in range(n)) / n
    t2i = sum(ce([scale * dot(t[i], v[j]) for j in range(n)], i) for i in range(n)) / n
    return (i2t + t2i) / 2


def test_region_contrastive_matches_loops_and_gradcheck():
    v, t = unit(4, 5, seed=2), unit(4, 5, seed=3)
    got = LF.region_contrastive_loss(v, t, math.log(7.0))
    assert got.item() == pytest.approx(loop_region(v, t, math.log(7.0)), rel=1e-12)
    s = torch.tensor(1.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(LF.region_contrastive_loss,
                                    (v.requires_grad_(True), t.requires_grad_(True), s))
    # a single box: one column, zero loss; no box: a zero still connected to the inputs
    assert LF.region_contrastive_loss(v[:1], t[:1], 2.0).item() == 0
    zero = LF.region_contrastive_loss(v[:0], t[:0], s)
    zero.backward()
    assert zero.item() == 0 and s.grad == 0


# ---------------------------------------------------------------------------------- TIC
def loop_tic(t, top_k, threshold):
    t = t.tolist()
    n = len(t)
    k = min(top_k, n - 1)
    total = 0.0
    for i in range(n):
        row = []
        for j in range(n):
            sim = dot(t[i], t[j])
            row.append(0.0 if (i == j or sim > threshold) else sim)
        total += lse(sorted(row, reverse=True)[:k])
    return total / n


@pytest.mark.parametrize('top_k', [2, 10])  # 10 > N - 1: every other caption is used
def test_tic_matches_loops(top_k):
    t = unit(5, 4, seed=4)
    t[3] = F.normalize(t[0] + 0.01, dim=0)  # near-duplicate: zeroed, not pushed apart
    assert (t[3] @ t[0]).item() > 0.95
    got = LF.tic_loss(t, top_k=top_k)
    assert got.item() == pytest.approx(loop_tic(t, top_k, 0.95), rel=1e-12)


def test_tic_single_text_is_connected_zero():
    t = unit(1, 4).requires_grad_(True)
    loss = LF.tic_loss(t)
    loss.backward()
    assert loss.item() == 0 and loss.requires_grad and torch.count_nonzero(t.grad) == 0


# ------------------------------------------------------------------------ hard negatives
def loop_hard(v, t, s, tau, weights=(0.6, 3.0, 0.4)):
    v, t = v.tolist(), t.tolist()
    n, k, scale = len(v), len(t[0]), math.exp(s)
    cols = [t[j][0] for j in range(n)] + [t[j][m] for j in range(n) for m in range(1, k)]
    i2t = sum(ce([scale * dot(v[i], c) for c in cols], i) for i in range(n)) / n
    t2i = sum(ce([scale * dot(t[i][0], v[j]) for j in range(n)], i) for i in range(n)) / n
    pair = sum(ce([scale * dot(v[i], t[i][m]) for m in range(k)], 0) for i in range(n)) / n
    p = [scale * dot(v[i], t[i][0]) for i in range(n)]
    q = [[scale * dot(v[i], t[i][m]) for m in range(1, k)] for i in range(n)]
    cmr = sum(max(0.0, tau + q[i][m] - p[i]) for i in range(n) for m in range(k - 1))
    cmr /= n * (k - 1)
    estimate = sum(p) / n - sum(sum(row) for row in q) / (n * (k - 1))
    loss = weights[0] * (i2t + t2i) / 2 + weights[1] * pair + weights[2] * cmr
    return loss, estimate


def hard_data(n, seed=5, dtype=torch.float64):
    v = unit(n, 6, seed=seed, dtype=dtype)
    t = unit(n, 11, 6, seed=seed + 1, dtype=dtype)
    t[:, 0] = F.normalize(t[:, 0] + v, dim=-1)  # positives closer, so the hinge is mixed
    return v, t


@pytest.mark.parametrize('tau', [0.0, 1.5])
def test_hard_negative_matches_loops(tau):
    v, t = hard_data(3)
    loss, estimate = LF.hard_negative_loss(v, t, math.log(4.0), tau)
    ref_loss, ref_estimate = loop_hard(v, t, math.log(4.0), tau)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-12)
    assert estimate.item() == pytest.approx(ref_estimate, rel=1e-12)
    assert not estimate.requires_grad


def test_hard_negative_gradcheck_float64():
    v, t = hard_data(2)
    s = torch.tensor([0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: LF.hard_negative_loss(*a, threshold=0.3)[0],
                                    (v.requires_grad_(True), t.requires_grad_(True), s))


def test_hard_negative_degenerate_inputs():
    v, t = hard_data(2)
    with pytest.raises(ValueError, match=r'\(N, 11, D\).*\(2, 10, 6\)'):
        LF.hard_negative_loss(v, t[:, :10], 0.0, 0.0)
    s = torch.tensor(1.0, requires_grad=True)
    zero, estimate = LF.hard_negative_loss(v[:0].float(), t[:0].float(), s, 0.0)
    zero.backward()
    assert zero.item() == 0 and estimate is None and s.grad == 0
    one, _ = LF.hard_negative_loss(v[:1], t[:1], 1.0, 0.0)  # one box: no squeeze problem
    assert torch.isfinite(one)
    mixed, _ = LF.hard_negative_loss(v.bfloat16(), t.float(), 1.0, 0.0)  # bf16 meets fp32
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, LF.hard_negative_loss(v, t, 1.0, 0.0)[0].float(),
                               rtol=2e-2, atol=2e-2)


# ------------------------------------------------- row blocks sum to the full loss
def test_row_blocks_sum_to_full_losses():
    """The decomposition the modules distribute: local rows against global columns."""
    v, t = unit(5, 4, seed=7), unit(5, 4, seed=8)
    hv, ht = hard_data(5)
    blocks = [(0, 2), (2, 2), (4, 1), (5, 0)]
    region = sum(LF.region_contrastive_rows_sum(v[o:o + n], t[o:o + n], v, t, 1.3, o)
                 for o, n in blocks)
    tic = sum(LF.tic_rows_sum(t[o:o + n], t, o, top_k=3) for o, n in blocks)
    hard = [LF.hard_negative_rows_sums(hv[o:o + n], ht[o:o + n], hv, ht, 1.3, 0.5, o)
            for o, n in blocks]
    torch.testing.assert_close(region / 5, LF.region_contrastive_loss(v, t, 1.3))
    torch.testing.assert_close(tic / 5, LF.tic_loss(t, top_k=3))
    total = sum(0.6 * h['contrastive'] / 5 + 3 * h['pair'] / 5 + 0.4 * h['cmr'] / 50
                for h in hard)
    torch.testing.assert_close(total, LF.hard_negative_loss(hv, ht, 1.3, 0.5)[0])
    # sigmoid: own block with positives + other blocks negative-only
    x = unit(5, 4, seed=9)
    sig = 0.0
    for o, n in blocks:
        sig = sig + LF.sigmoid_pair_loss_sum(x[o:o + n], t[o:o + n], 0.5, -1.0)
        for o2, n2 in blocks:
            if o2 != o:
                sig = sig + LF.sigmoid_pair_loss_sum(x[o:o + n], t[o2:o2 + n2], 0.5, -1.0,
                                                     negative_only=True)
    torch.testing.assert_close(sig / 5, LF.sigmoid_pair_loss(x, t, 0.5, -1.0))
