"""The registered loss modules, single process without any process group."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from fgclip2_mm.models.losses import (FGCLIP2HardNegativeLoss, FGCLIP2RegionContrastiveLoss,
                                      FGCLIP2SigmoidLoss, FGCLIP2TICLoss)
from fgclip2_mm.models.losses import functional as LF
from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.dist import (all_gather_with_grad, all_reduce_sum, gather_rows_with_grad,
                                   get_dist_info, iter_remote_rows)


class _ParseOnly(BaseModel):
    """Just for mmengine's ``parse_losses``."""

    def forward(self, *args, **kwargs):
        raise NotImplementedError


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def scalar(value):
    return torch.tensor([float(value)], requires_grad=True)


def check_parse_losses(out, loss_keys):
    assert all(k.startswith('loss_') for k in loss_keys)
    assert all('loss' not in k for k in set(out) - set(loss_keys))
    total, log_vars = _ParseOnly().parse_losses(out)
    torch.testing.assert_close(total, sum(out[k] for k in loss_keys))
    assert set(log_vars) == set(out) | {'loss'}


def test_build_from_registry_without_mutating_cfg():
    for name in ('FGCLIP2SigmoidLoss', 'FGCLIP2RegionContrastiveLoss', 'FGCLIP2TICLoss',
                 'FGCLIP2HardNegativeLoss'):
        cfg = dict(type=name)
        MODELS.build(cfg)
        assert type(MODELS.build(copy.deepcopy(cfg))).__name__ == name and cfg == dict(type=name)
    with pytest.raises(ValueError, match=r"dist_impl='reduce'.*'gather', 'bidir'"):
        FGCLIP2SigmoidLoss(dist_impl='reduce')
    with pytest.raises(ValueError, match='part_weights'):
        FGCLIP2HardNegativeLoss(part_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match='top_k'):
        FGCLIP2TICLoss(top_k=0)


def test_dist_helpers_without_process_group():
    x = rand(3, 4)
    assert get_dist_info() == (0, 1)
    assert torch.equal(all_gather_with_grad(x), x[None])
    assert list(iter_remote_rows(x, [3], 'bidir')) == []
    rows, sizes, offset = gather_rows_with_grad(x)
    assert rows is x and sizes == [3] and offset == 0
    assert torch.equal(all_reduce_sum(x), x)
    with pytest.raises(ValueError, match='shift'):
        list(iter_remote_rows(x, [3], 'shift'))


def test_sigmoid_module_keys_weights_and_normalisation():
    img, short, long = rand(4, 8, seed=0), rand(4, 8, seed=1), rand(4, 8, seed=2)
    valid = torch.tensor([True, False, True, True])
    scale, bias = scalar(math.log(10)), scalar(-5.0)
    loss = FGCLIP2SigmoidLoss(loss_weight_short=2.0, loss_weight_long=0.5)
    out = loss(img, short, scale, bias, long, valid)
    check_parse_losses(out, ['loss_siglip_short', 'loss_siglip_long'])
    x, ys, yl = (F.normalize(t, dim=-1) for t in (img, short, long))
    torch.testing.assert_close(out['loss_siglip_short'],
                               2.0 * LF.sigmoid_pair_loss(x, ys, scale, bias))
    torch.testing.assert_close(out['loss_siglip_long'],
                               0.5 * LF.sigmoid_pair_loss(x, yl, scale, bias, text_valid=valid))
    torch.testing.assert_close(out['siglip_scale'], torch.tensor(10.0))
    # masked long captions get no gradient; no long captions at all: no long key
    long.requires_grad_(True)
    loss(img, short, scale, bias, long, valid)['loss_siglip_long'].backward()
    assert torch.count_nonzero(long.grad[1]) == 0 and torch.count_nonzero(long.grad[0]) > 0
    assert 'loss_siglip_long' not in loss(img, short, scale, bias)
    with pytest.raises(ValueError, match='long_text_valid'):
        loss(img, short, scale, bias, long_text_valid=valid)
    with pytest.raises(ValueError, match=r'\(B, D\)'):
        loss(img, short[:3], scale, bias)


def test_sigmoid_module_empty_batch_is_connected_zero():
    img = rand(0, 8).requires_grad_(True)
    scale, bias = scalar(1.0), scalar(-1.0)
    out = FGCLIP2SigmoidLoss()(img, rand(0, 8), scale, bias, rand(0, 8))
    (out['loss_siglip_short'] + out['loss_siglip_long']).backward()
    assert out['loss_siglip_short'].item() == 0 and scale.grad == 0 and bias.grad == 0


def test_region_and_tic_modules():
    v, t = rand(5, 8, seed=3), rand(5, 8, seed=4)
    scale = scalar(math.log(100))
    out = FGCLIP2RegionContrastiveLoss()(v, t, scale)
    out.update(FGCLIP2TICLoss()(t))  # 5 captions < top_k = 10
    check_parse_losses(out, ['loss_region', 'loss_tic'])
    vn, tn = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    torch.testing.assert_close(out['loss_region'], 0.2 * LF.region_contrastive_loss(vn, tn, scale))
    torch.testing.assert_close(out['loss_tic'], 0.1 * LF.tic_loss(tn, top_k=4))
    assert out['num_regions'].item() == 5 and out['num_regions'].dtype == torch.float32
    # bf16 region features meet fp32 captions: cast deliberately, fp32 loss
    mixed = FGCLIP2RegionContrastiveLoss()(v.bfloat16(), t, scale)['loss_region']
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, out['loss_region'], rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize('num_boxes', [0, 1])
def test_region_losses_on_tiny_batches(num_boxes):
    """An all-Chinese batch (no box) and a single box: zeros connected to the inputs."""
    v, t = rand(num_boxes, 8).requires_grad_(True), rand(num_boxes, 8).requires_grad_(True)
    ht = rand(num_boxes, 11, 8).requires_grad_(True)
    scale = scalar(math.log(100))
    out = FGCLIP2RegionContrastiveLoss()(v, t, scale)
    out.update(FGCLIP2TICLoss()(t))
    out.update(FGCLIP2HardNegativeLoss()(v, ht, scale))
    total = sum(val for key, val in out.items() if key.startswith('loss'))
    total.backward()
    assert total.requires_grad and scale.grad is not None and torch.isfinite(total)
    assert out['loss_region'].item() == 0 and out['loss_tic'].item() == 0
    assert out['num_hard_boxes'].item() == num_boxes
    assert (out['loss_hard_pair'].item() > 0) == (num_boxes == 1)


def test_hard_negative_module_terms_and_wrong_text_count():
    v, t = rand(3, 8, seed=5), rand(3, 11, 8, seed=6)
    scale = scalar(math.log(100))
    loss = FGCLIP2HardNegativeLoss(init_threshold=0.7)
    out = loss(v, t, scale)
    keys = ['loss_hard_contrastive', 'loss_hard_pair', 'loss_hard_cmr']
    check_parse_losses(out, keys)
    vn, tn = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    for key, weights in zip(keys, [(0.6, 0, 0), (0, 3.0, 0), (0, 0, 0.4)]):
        expected, _ = LF.hard_negative_loss(vn, tn, scale, 0.7, weights=weights)
        torch.testing.assert_close(out[key], 0.5 * expected)
    assert out['cmr_threshold'].item() == pytest.approx(0.7)
    assert out['num_hard_boxes'].item() == 3
    with pytest.raises(ValueError, match=r'\(N, 11, D\).*\(3, 8\) and \(3, 10, 8\)'):
        loss(v, t[:, :10], scale)
    with pytest.raises(ValueError, match=r'\(3, 8\) and \(3, 8\)'):
        loss(v, t[:, 0], scale)


def test_cmr_threshold_buffer_update_clamp_and_resume():
    v, t = rand(4, 8, seed=7), rand(4, 11, 8, seed=8)
    t[:, 0] += 2 * v  # positives closer: a positive estimate
    scale = scalar(math.log(10))
    loss = FGCLIP2HardNegativeLoss()
    assert 'cmr_threshold' in loss.state_dict() and loss.cmr_threshold.item() == 0
    first = loss(v, t, scale)
    vn, tn = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    _, estimate = LF.hard_negative_loss(vn, tn, scale, 0.0)
    assert first['cmr_threshold'].item() == 0  # step 1 used tau_0
    assert 0 < estimate.item() < 10
    torch.testing.assert_close(loss.cmr_threshold, estimate.float())
    # step 2 uses the stored tau_1
    second = loss(v, t, scale)
    expected, _ = LF.hard_negative_loss(vn, tn, scale, estimate, weights=(0, 0, 0.4))
    torch.testing.assert_close(second['loss_hard_cmr'], 0.5 * expected)
    # resume: the buffer travels in the state dict
    resumed = FGCLIP2HardNegativeLoss()
    resumed.load_state_dict(loss.state_dict())
    assert resumed.cmr_threshold.item() == loss.cmr_threshold.item() != 0
    # clamp to threshold_range; eval mode and empty batches leave tau alone
    clamped = FGCLIP2HardNegativeLoss(threshold_range=(0.0, 0.5))
    clamped(v, t, scale)
    assert clamped.cmr_threshold.item() == 0.5
    clamped(-v, t, scale)  # negatives closer: negative estimate -> 0
    assert clamped.cmr_threshold.item() == 0.0
    loss.eval()
    before = loss.cmr_threshold.item()
    loss(-v, t, scale)
    loss.train()
    loss(v[:0], t[:0], scale)
    assert loss.cmr_threshold.item() == before
