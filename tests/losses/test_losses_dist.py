"""Multi-process (gloo, CPU) checks of the loss modules against the single-process loss.

Every worker builds the same seeded *global* float64 tensors, takes its shard as leaf
tensors (different numbers of boxes per rank, one rank with none), runs each module and
calls backward on the sum of its own loss terms. The parent runs the same modules on the
concatenated batch in one process and checks:

(a) mean over ranks of every loss term == the single-process term;
(b) gradient factor: rank r's loss is ``(W/N) * (its rows' sum)``, so ``sum_r loss_r =
    W * L`` and the exchanges' backward sums the contributions of all ranks: the gradient
    of a local embedding shard is ``W * dL/dshard``. DDP then *averages* parameter
    gradients over the W ranks, so ``shard.grad / W`` must equal the slice of the
    single-process gradient, and the replicated logit scale / bias (whose local gradient
    is ``d loss_r / ds``) must match after averaging over ranks;
(c) the CMR threshold after each step equals the single-process one on every rank;
(d) masked long captions contribute nothing (zero gradient; changing them in the
    single-process run does not change the loss), for both ``dist_impl`` values.
"""
import math

import pytest
import torch

from fgclip2_mm.models.losses import (FGCLIP2HardNegativeLoss, FGCLIP2RegionContrastiveLoss,
                                      FGCLIP2SigmoidLoss, FGCLIP2TICLoss)
from fgclip2_mm.utils.dist import (all_reduce_sum, gather_rows_with_grad, get_dist_info,
                                   neighbour_exchange, neighbour_exchange_bidir)

D = 6
IMPLS = ('gather', 'bidir')
# world size -> (images, region boxes, hard boxes) per rank, and a rank without long captions
CASES = {
    2: dict(images=[3, 3], boxes=[4, 0], hard=[2, 1], no_long=None),
    3: dict(images=[3, 2, 3], boxes=[2, 0, 4], hard=[1, 0, 2], no_long=1),
    4: dict(images=[2, 2, 2, 2], boxes=[1, 3, 0, 2], hard=[0, 2, 1, 1], no_long=None),
}


def make_global(images, boxes, hard, seed=0):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    n_img, n_box, n_hard = sum(images), sum(boxes), sum(hard)
    f64 = dict(dtype=torch.float64)
    data = dict(image=rand(n_img, D), short=rand(n_img, D), long=rand(n_img, D),
                long_valid=torch.arange(n_img) % 3 != 1, scale=torch.tensor([1.5], **f64),
                bias=torch.tensor([-2.0], **f64), region=rand(n_box, D),
                rtext=rand(n_box, D), hard_region=rand(n_hard, D), hard_text=rand(n_hard, 11, D),
                region_scale=torch.tensor(math.log(10.0), dtype=torch.float64))
    if n_box > 1:  # a near-duplicate caption exercises the TIC duplicate threshold
        data['rtext'][-1] = data['rtext'][0] + 0.01 * rand(D)
    data['hard_text'][:, 0] += data['hard_region']  # positives closer: tau in (0, 10)
    data['hard_text'][:, 1:] += 0.5 * data['hard_region'][:, None]
    return data


def shard(tensor, sizes, rank):
    start = sum(sizes[:rank])
    return tensor[start:start + sizes[rank]].clone().requires_grad_(True)


def run_losses(data, case, rank=None):
    """Run every module on the shard of ``rank``, or on the whole batch (``rank=None``)."""
    def take(key, group):
        if rank is None:
            return data[key].clone().requires_grad_(True)
        return shard(data[key], case[group], rank)

    def leaf(key):
        return data[key].clone().requires_grad_(True)

    no_long = case['no_long']
    res = dict(loss={}, grad={})
    for impl in IMPLS:
        image, short, long = (take(key, 'images') for key in ('image', 'short', 'long'))
        valid = data['long_valid'].clone()
        if rank is not None:
            valid = valid[sum(case['images'][:rank]):sum(case['images'][:rank + 1])]
        scale, bias = leaf('scale'), leaf('bias')
        if rank is None and no_long is not None:  # global view of a rank without long captions
            start = sum(case['images'][:no_long])
            valid[start:start + case['images'][no_long]] = False
        loss = FGCLIP2SigmoidLoss(dist_impl=impl)
        if rank is not None and rank == no_long:
            out = loss(image, short, scale, bias)
        else:
            out = loss(image, short, scale, bias, long, valid)
        (out['loss_siglip_short'] + out['loss_siglip_long']).backward()
        res['loss'].update({f'{k}_{impl}': out[k].item() for k in out if k.startswith('loss')})
        leaves = dict(image=image, short=short, long=long, scale=scale, bias=bias)
        res['grad'].update({f'{n}_{impl}': t.grad for n, t in leaves.items()
                            if t.grad is not None})
    region, rtext = take('region', 'boxes'), take('rtext', 'boxes')
    hard_region, hard_text = take('hard_region', 'hard'), take('hard_text', 'hard')
    region_scale, hard_scale = leaf('region_scale'), leaf('region_scale')
    out = FGCLIP2RegionContrastiveLoss()(region, rtext, region_scale)
    out.update(FGCLIP2TICLoss(top_k=3)(rtext))
    hard = FGCLIP2HardNegativeLoss()
    out.update(hard(hard_region, hard_text, hard_scale))
    res['tau'] = [hard.cmr_threshold.item()]
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    res['loss'].update({k: v.item() for k, v in out.items() if k.startswith('loss')})
    res['grad'].update(region=region.grad, rtext=rtext.grad, hard_region=hard_region.grad,
                       hard_text=hard_text.grad, region_scale=region_scale.grad,
                       hard_scale=hard_scale.grad)
    res['num'] = (out['num_regions'].item(), out['num_hard_boxes'].item())
    # step 2 (another scale, so tau moves): its CMR term uses the stored tau_1
    second = hard(hard_region.detach(), hard_text.detach(), hard_scale.detach() - 0.5)
    res['loss']['second_cmr'] = second['loss_hard_cmr'].item()
    res['tau'].append(hard.cmr_threshold.item())
    return res


def exchange_checks(rank, world_size):
    """P2P exchanges with distinct tensors per direction: values and gradient routing."""
    left, right = (rank - 1) % world_size, (rank + 1) % world_size
    x = torch.full((2, ), float(rank), requires_grad=True)
    (neighbour_exchange(x) * (1.0 + rank)).sum().backward()  # grad x_r = 1 + (r + 1)
    ok = torch.equal(x.grad, torch.full((2, ), 1.0 + right))
    if world_size >= 3:
        a = torch.full((2, ), 100.0 + rank, requires_grad=True)  # sent left
        b = torch.full((2, ), 200.0 + rank, requires_grad=True)  # sent right
        from_left, from_right = neighbour_exchange_bidir(a, b)
        ok &= from_left[0].item() == 200 + left and from_right[0].item() == 100 + right
        ((1.0 + rank) * from_left + (10.0 + rank) * from_right).sum().backward()
        ok &= torch.equal(a.grad, torch.full((2, ), 10.0 + left))
        ok &= torch.equal(b.grad, torch.full((2, ), 1.0 + right))
    return bool(ok)


def loss_worker(rank, world_size, case):
    assert get_dist_info() == (rank, world_size)
    data = make_global(case['images'], case['boxes'], case['hard'])
    res = run_losses(data, case, rank)
    res['exchange_ok'] = exchange_checks(rank, world_size)
    res['reduced'] = all_reduce_sum(torch.tensor([float(rank)])).item()
    rows, sizes, offset = gather_rows_with_grad(shard(data['region'], case['boxes'], rank))
    assert offset == sum(case['boxes'][:rank])
    res['gathered_ok'] = torch.equal(rows.detach(), data['region']) and sizes == case['boxes']
    return res


@pytest.mark.dist
@pytest.mark.parametrize('world_size', [2, 3, 4])
def test_losses_match_single_process(run_dist, world_size):
    case = CASES[world_size]
    results = run_dist(loss_worker, world_size, case)
    data = make_global(case['images'], case['boxes'], case['hard'])
    data['long'][~data['long_valid']] = 7.0  # (d) masked long captions may hold anything
    ref = run_losses(data, case)
    for res in results:
        assert res['reduced'] == sum(range(world_size)) and res['gathered_ok']
        assert res['exchange_ok']
        assert res['num'] == (sum(case['boxes']), sum(case['hard']))
        torch.testing.assert_close(res['tau'], ref['tau'])  # (c) identical on every rank
    assert ref['tau'][0] > 0 and ref['tau'][0] != ref['tau'][1]
    for key, value in ref['loss'].items():  # (a)
        mean = sum(res['loss'][key] for res in results) / world_size
        assert mean == pytest.approx(value, rel=1e-9, abs=1e-12), key
    groups = dict(image='images', short='images', long='images', region='boxes', rtext='boxes',
                  hard_region='hard', hard_text='hard')
    for key, ref_grad in ref['grad'].items():  # (b)
        name = key.rsplit('_', 1)[0] if key.endswith(IMPLS) else key
        if name in groups:
            sizes = case[groups[name]]
            # the rank called without long captions has no long gradient: zeros expected
            parts = [res['grad'].get(key, torch.zeros(sizes[r], *ref_grad.shape[1:],
                                                      dtype=ref_grad.dtype)) / world_size
                     for r, res in enumerate(results)]
            torch.testing.assert_close(torch.cat(parts), ref_grad, msg=key)
        else:  # replicated scalars: DDP averages their gradients over ranks
            mean = sum(res['grad'][key] for res in results) / world_size
            torch.testing.assert_close(mean, ref_grad, msg=key)
    for impl in IMPLS:  # (d) zero gradient into masked long captions
        grad = ref['grad'][f'long_{impl}'][~data['long_valid']]
        assert torch.count_nonzero(grad) == 0


def degenerate_worker(rank, world_size, box_cases):
    """Every loss per case of ``boxes`` (region/hard boxes per rank), one step each."""
    results = []
    for boxes in box_cases:
        gen = torch.Generator().manual_seed(rank)
        n = boxes[rank]
        region = torch.randn(n, D, generator=gen, requires_grad=True)
        text = torch.randn(n, D, generator=gen, requires_grad=True)
        hard_text = torch.randn(n, 11, D, generator=gen, requires_grad=True)
        scale = torch.tensor(2.0, requires_grad=True)
        hard = FGCLIP2HardNegativeLoss(init_threshold=1.5)
        out = FGCLIP2RegionContrastiveLoss()(region, text, scale)
        out.update(FGCLIP2TICLoss()(text))
        out.update(hard(region, hard_text, scale))
        total = sum(v for k, v in out.items() if k.startswith('loss'))
        total.backward()  # would hang if the ranks ran different collectives
        results.append(dict(loss={k: v.item() for k, v in out.items() if k.startswith('loss')},
                            tau=hard.cmr_threshold.item(), scale_grad=scale.grad,
                            connected=total.requires_grad, num=out['num_regions'].item()))
    return results


@pytest.mark.dist
def test_degenerate_batches_do_not_hang(run_dist):
    cases = [[0, 0, 0], [0, 1, 0], [2, 0, 3]]
    none, one, some = zip(*run_dist(degenerate_worker, 3, cases))
    for res in none:  # no box on any rank: connected zeros, tau unchanged
        assert res['connected'] and res['num'] == 0 and res['tau'] == 1.5
        assert all(v == 0 for v in res['loss'].values()) and res['scale_grad'] == 0
    for res in one:  # a single box in the whole batch: InfoNCE over one column, TIC are 0
        assert res['connected'] and res['num'] == 1 and res['scale_grad'] is not None
        assert res['loss']['loss_region'] == 0 and res['loss']['loss_tic'] == 0
    # boxes on some ranks only: every rank finishes the step with the same tau
    assert len({res['tau'] for res in some}) == 1 and all(res['num'] == 5 for res in some)
    assert some[1]['loss']['loss_region'] == 0 and some[0]['loss']['loss_region'] > 0
