"""The FG-CLIP 2 segmentors on tiny random models: build in any scope, NaFlex grids, whole
and sliding inference, the background threshold on hand-made features, vocabulary changes,
the trained cost-aggregation head (loss, gradients, frozen encoder, class-count agnostic)."""
import copy
import os

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmseg')

from mmengine.registry import MODELS as MMENGINE_MODELS  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from fgclip2_mm.integrations.mmseg.heads import ClassAggregation  # noqa: E402
from fgclip2_mm.integrations.mmseg.segmentors import class_logits_from_queries  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import (synthetic_world,  # noqa: E402
                                                   tiny_segmentor_cfg, write_tiny_checkpoint)
from fgclip2_mm.integrations.mmseg.utils import naflex_grid  # noqa: E402


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    world = synthetic_world(str(root))
    return write_tiny_checkpoint(str(root / 'tiny_ckpt_seg'), os.path.join(world, 'tokenizer'))


def build(cfg, scope='mmseg'):
    """Build with ``scope`` as the default scope (None: mmengine's root, no scope set)."""
    if scope is None:
        return MMENGINE_MODELS.build(cfg)
    with DefaultScope.overwrite_default_scope(scope):
        return MMSEG_MODELS.build(cfg)


def samples(shape, labels=None):
    out = []
    for i in range(len(labels) if labels is not None else 1):
        sample = SegDataSample(metainfo=dict(ori_shape=shape, img_shape=shape, pad_shape=shape))
        if labels is not None:
            sample.gt_sem_seg = PixelData(data=labels[i][None])
        out.append(sample)
    return out


@pytest.mark.parametrize('scope', [None, 'mmseg', 'fgclip2_mm'])
@pytest.mark.parametrize('trained', [False, True])
def test_builds_in_any_scope_and_leaves_the_config_alone(ckpt, scope, trained):
    cfg = tiny_segmentor_cfg(ckpt, trained=trained)
    before = copy.deepcopy(cfg)
    seg = build(cfg, scope)
    assert cfg == before
    assert type(seg).__name__ == ('FGCLIP2CATSegmentor' if trained else
                                  'FGCLIP2TrainingFreeSegmentor')
    assert len(seg.class_names) == 17 and seg.class_names[0] == 'background'


def test_patch_budget_modes_follow_the_aspect_ratio():
    assert naflex_grid(480, 640, 16, 'native') == (30, 40)
    h, w = naflex_grid(480, 640, 16, 'dynamic')  # 1200 raw patches -> the 1024 bucket
    assert h * w <= 1024 and abs(w / h - 4 / 3) < 0.1
    h, w = naflex_grid(50, 170, 16, 'dynamic')  # a small strip is up-scaled to 128 patches
    assert 100 <= h * w <= 128 and w > 3 * h
    assert naflex_grid(480, 640, 16, 'native', max_num_patches=300)[0] * \
        naflex_grid(480, 640, 16, 'native', max_num_patches=300)[1] <= 300
    for bad in (0, 'auto', True):
        with pytest.raises(ValueError, match='patch_budget'):
            naflex_grid(10, 10, 16, bad)


def test_training_free_whole_and_slide_any_aspect_ratio(ckpt):
    seg = build(tiny_segmentor_cfg(ckpt, patch_budget='dynamic'))
    strip = torch.randn(1, 3, 50, 170)
    feats = seg.dense_features(strip)['dense']
    assert feats.shape[2] * 3 < feats.shape[3]  # the grid keeps the strip's aspect ratio
    logits = seg(strip, mode='tensor')
    assert logits.shape == (1, 17, 50, 170) and torch.isfinite(logits).all()
    out = seg.predict(strip, samples((100, 340)))  # resized to the original image
    assert out[0].pred_sem_seg.data.shape == (1, 100, 340)
    assert out[0].seg_logits.data.shape == (17, 100, 340)
    slide = build(tiny_segmentor_cfg(
        ckpt, test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(40, 40))))
    batch = torch.randn(2, 3, 96, 150)
    assert slide(batch, mode='tensor').shape == (2, 17, 96, 150)
    small = slide(torch.randn(1, 3, 40, 30), mode='tensor')  # smaller than one window
    assert small.shape == (1, 17, 40, 30)


def test_background_threshold_on_hand_made_features(ckpt):
    e = torch.eye(4)
    # class 0: background without text; class 1: one query; class 2: two synonyms
    embeds, owner = torch.stack([e[0], e[1], e[2]]), torch.tensor([1, 2, 2])
    pixels = torch.stack([e[0], e[2], 0.8 * e[0] + 0.6 * e[1], e[3]])  # (4, D) = 2 x 2 map
    dense = pixels.t().reshape(1, 4, 2, 2)
    cos = class_logits_from_queries(dense, embeds, owner, 3)
    assert torch.allclose(cos[0, 1:].flatten(1), torch.tensor([[1., 0., .8, 0.],
                                                                [0., 1., .6, 0.]]))
    assert (cos[0, 0] < -100).all()  # no text: never the argmax by itself
    for thd, expected in ((0.0, [[1, 2], [1, 1]]), (0.6, [[1, 2], [0, 0]])):
        seg = build(tiny_segmentor_cfg(ckpt, prob_thd=thd, bg_idx=0, logit_scale=1.0,
                                       vocabulary=['', 'a', 'b, c']))
        seg.dense_features = lambda images, out_indices=(): dict(dense=dense, layers=[])
        seg.class_queries = lambda which='test': (embeds, owner)
        pred = seg.predict(torch.zeros(1, 3, 2, 2))[0].pred_sem_seg.data[0]
        assert pred.tolist() == expected, thd
    # a background with its own text competes like a class, and is also the fallback
    probs = torch.tensor([[0.3, 0.1], [0.5, 0.7], [0.2, 0.2]]).reshape(3, 1, 2)
    seg.prob_thd = 0.6
    assert seg.apply_background(probs).argmax(0).flatten().tolist() == [0, 1]


def test_vocabulary_changes_at_test_time(ckpt):
    seg = build(tiny_segmentor_cfg(ckpt))
    image = torch.randn(1, 3, 64, 80)
    assert seg.set_vocabulary(['circle', '正方形', 'star, 五角星']) == ['circle', '正方形', 'star']
    assert seg(image, mode='tensor').shape[1] == 3
    seg.set_vocabulary(dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'), language='zh')
    assert seg.class_names[1] == 'circle' and seg(image, mode='tensor').shape[1] == 17
    with pytest.raises(ValueError, match='language'):
        seg.set_vocabulary(['a'], language='fr')

    cat = build(tiny_segmentor_cfg(ckpt, trained=True))
    labels = torch.randint(0, 17, (2, 64, 64))
    assert cat.loss(torch.randn(2, 3, 64, 64), samples((64, 64), labels))['loss_ce'] > 0
    cat.set_vocabulary(['heart', 'trapezoid', 'background'])  # novel classes only
    cat.set_vocabulary(dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'), which='train')
    assert cat(torch.randn(1, 3, 64, 64), mode='tensor').shape == (1, 3, 64, 64)
    assert cat.loss(torch.randn(2, 3, 64, 64), samples((64, 64), labels))['loss_ce'] > 0


@pytest.mark.parametrize('finetune', ['none', 'vision_attention', 'attention'])
def test_trained_head_loss_gradients_and_frozen_parts(ckpt, finetune):
    cat = build(tiny_segmentor_cfg(ckpt, trained=True, finetune=finetune)).train()
    labels = torch.randint(0, 17, (2, 48, 64))
    labels[0, :5] = 255  # ignored
    losses = cat.loss(torch.randn(2, 3, 48, 64), samples((48, 64), labels))
    assert set(losses) == {'loss_ce', 'acc_seg'} and torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    for name, param in cat.decode_head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    with_grad = {n for n, p in cat.clip.named_parameters() if p.grad is not None}
    vision_attn = {n for n, _ in cat.clip.named_parameters()
                   if n.startswith('vision_backbone.layers.') and '.attn.' in n}
    if finetune == 'none':
        assert not with_grad
    elif finetune == 'vision_attention':  # every vision attention parameter + the dense head
        assert vision_attn <= with_grad
        assert not any(n.startswith('text_encoder.') for n in with_grad)
    else:  # CAT-Seg: q / v weights of both towers only (see test_mmseg_catseg_head.py)
        assert with_grad and all(n.endswith(('q.weight', 'v.weight')) for n in with_grad)
        assert any(n.startswith('text_encoder.') for n in with_grad)
    assert not cat.clip.text_encoder.training
    bad = torch.full((2, 48, 64), 40)
    with pytest.raises(ValueError, match='outside'):
        cat.loss(torch.randn(2, 3, 48, 64), samples((48, 64), bad))


def test_untrained_head_predicts_the_scaled_cost_volume(ckpt):
    cat = build(tiny_segmentor_cfg(ckpt, trained=True))
    head = cat.decode_head
    dense, text = torch.randn(2, 32, 6, 5), F.normalize(torch.randn(4, 32), dim=-1)
    logits = head(dense, text, [torch.randn(2, 32, 6, 5)])
    cost = torch.einsum('bdhw,kd->bkhw', F.normalize(dense, dim=1), text)
    expected = F.interpolate(cost, size=(12, 10), mode='bilinear') * head.log_cost_scale.exp()
    assert logits.shape == (2, 4, 12, 10) and torch.allclose(logits, expected, atol=1e-5)


def test_class_aggregation_is_permutation_equivariant_for_any_class_count():
    torch.manual_seed(0)
    block = ClassAggregation(16, 8, num_heads=4).eval()
    for k in (1, 5, 50):
        x, text = torch.randn(3, k, 16), torch.randn(k, 8)
        perm = torch.randperm(k)
        out = block(x, text)
        assert out.shape == (3, k, 16)
        assert torch.allclose(block(x[:, perm], text[perm]), out[:, perm], atol=1e-5)


def test_invalid_settings_raise_listing_the_options(ckpt):
    for kwargs, match in ((dict(language='de'), 'expected one of'),
                          (dict(test_cfg=dict(mode='tiles')), 'expected one of'),
                          (dict(test_cfg=dict(mode='slide', crop_size=64)), 'crop_size'),
                          (dict(patch_budget='huge'), 'patch_budget'),
                          (dict(prob_thd=1.5), 'prob_thd')):
        with pytest.raises(ValueError, match=match):
            build(tiny_segmentor_cfg(ckpt, **kwargs))
    with pytest.raises(ValueError, match='finetune'):
        build(tiny_segmentor_cfg(ckpt, trained=True, finetune='some'))
    with pytest.raises(ValueError, match='nothing to train'):
        build(tiny_segmentor_cfg(ckpt)).loss(torch.zeros(1, 3, 8, 8), [])
