"""CAT-Seg's head and recipe on tiny models: shapes on any grid, BCE as CAT-Seg computes it,
class pruning keeps the classes in the image, class order does not matter, guidance layers,
and ``finetune='attention'`` training only the q / v weights of both towers (AdamW weight
decay included) with checkpoints that load either way."""

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmseg')

from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from fgclip2_mm.integrations.mmseg.heads import (PRUNED_LOGIT, catseg_bce_loss,  # noqa: E402
                                                 prune_classes)
from fgclip2_mm.integrations.mmseg.segmentors import (QVTrainableQKV,  # noqa: E402
                                                      default_guidance_layers)
from fgclip2_mm.integrations.mmseg.testing import (TINY_CATSEG_HEAD,  # noqa: E402
                                                   tiny_segmentor_cfg)
from fgclip2_mm.registry import MODELS  # noqa: E402


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MMSEG_MODELS.build(cfg)


def tiny_head(**kwargs):
    cfg = dict(TINY_CATSEG_HEAD, in_dims=32)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def samples(labels):
    out = []
    for label in labels:
        shape = tuple(label.shape)
        sample = SegDataSample(metainfo=dict(ori_shape=shape, img_shape=shape, pad_shape=shape))
        sample.gt_sem_seg = PixelData(data=label[None])
        out.append(sample)
    return out


def test_head_any_grid_shapes_and_sigmoid_scores():
    torch.manual_seed(0)
    head = tiny_head().eval()
    assert head.score_activation == 'sigmoid'
    for h, w in ((6, 5), (4, 4), (9, 3)):  # not multiples of the window, smaller than it
        dense = torch.randn(2, 32, h, w)
        layers = [torch.randn(2, 32, h, w), torch.randn(2, 32, h, w)]
        out = head(dense, F.normalize(torch.randn(5, 32), dim=-1), layers)
        assert out.shape == (2, 5, 4 * h, 4 * w) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match='guidance maps'):
        head(dense, torch.randn(5, 32), layers[:1])
    with pytest.raises(ValueError, match='same length'):
        tiny_head(decoder_dims=(16, ))


def test_bce_counts_ignored_pixels_as_negatives_of_every_class():
    logits = torch.randn(2, 3, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, 0] = 255
    loss = catseg_bce_loss(logits, label, 255)
    target = torch.zeros(2, 3, 4, 4)
    for b, i, j in torch.nonzero(label != 255).tolist():
        target[b, label[b, i, j], i, j] = 1.0
    by_hand = -(target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)).mean()
    assert torch.allclose(loss, by_hand, atol=1e-6)
    valid_only = F.binary_cross_entropy_with_logits(
        logits.permute(0, 2, 3, 1)[label != 255], target.permute(0, 2, 3, 1)[label != 255])
    assert not torch.allclose(loss, valid_only)  # CAT-Seg keeps the ignored pixels


def test_pruning_keeps_the_classes_present_and_pads_the_rest():
    torch.manual_seed(0)
    text = torch.eye(32)[:12]  # 12 orthogonal classes, pad_len 8 keeps 8
    present = [1, 4, 7, 9]
    dense = text[present].t().repeat_interleave(3, dim=1).reshape(1, 32, 3, 4)
    kept = prune_classes(torch.einsum('bdhw,td->bthw', dense, text)[:, None], 4)
    assert sorted(kept[0].tolist()) == present
    head = tiny_head(pad_len=4).eval()
    out = head(dense, text, [torch.randn(1, 32, 3, 4)] * 2)
    dropped = [c for c in range(12) if c not in present]
    assert (out[0, dropped] == PRUNED_LOGIT).all()
    assert (out[0, present] != PRUNED_LOGIT).all()


def test_head_is_equivariant_to_the_class_order_with_padding():
    torch.manual_seed(0)
    head = tiny_head().eval()
    dense, layers = torch.randn(1, 32, 6, 5), [torch.randn(1, 32, 6, 5)] * 2
    text = F.normalize(torch.randn(5, 32), dim=-1)  # 5 classes padded to 8 tokens
    perm = torch.randperm(5)
    out = head(dense, text, layers)
    assert torch.allclose(head(dense, text[perm], layers), out[:, perm], atol=1e-5)


def test_guidance_layers_follow_catseg():
    assert default_guidance_layers(12, 2) == (3, 7)  # ViT-B/16: cat_seg_model.py l.84
    assert default_guidance_layers(24, 2) == (7, 15)  # ViT-L/14
    head = tiny_head()
    assert [m.stride[0] for m in head.guidance_up] == [2, 4]  # layers[0] guides the x2 stage


def test_attention_finetune_trains_only_query_and_value_weights(ckpt):
    cat = build(tiny_segmentor_cfg(ckpt, trained=True, finetune='attention',
                                   decode_head=dict(TINY_CATSEG_HEAD))).train()
    vit, text = cat.clip.vision_backbone, cat.clip.text_encoder
    attns = [m.attn for m in list(vit.layers) + [vit.dense_head] + list(text.layers)]
    assert all(isinstance(a.qkv, QVTrainableQKV) for a in attns)
    trainable = {n for n, p in cat.clip.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(('qkv.q.weight', 'qkv.v.weight')) for n in trainable)
    assert len(trainable) == 2 * len(attns)
    assert not vit.pos_embed.requires_grad and not text.pos_embed.requires_grad
    before = {n: p.detach().clone() for n, p in cat.clip.named_parameters()}
    optim = torch.optim.AdamW([p for p in cat.parameters() if p.requires_grad], lr=1e-2,
                              weight_decay=0.5)
    labels = torch.randint(0, 17, (2, 32, 32))
    loss = cat.loss(torch.randn(2, 3, 32, 32), samples(labels))['loss_sem_seg']
    loss.backward()
    assert all(a.qkv.q.weight.grad is not None and a.qkv.v.weight.grad is not None
               for a in attns), 'both towers get q / v gradients'
    optim.step()
    for name, param in cat.clip.named_parameters():
        moved = not torch.equal(param, before[name])
        assert moved == (name in trainable), name  # key rows and biases never move


def test_split_attention_checkpoints_load_both_ways(ckpt):
    tuned = build(tiny_segmentor_cfg(ckpt, trained=True, finetune='attention',
                                     decode_head=dict(TINY_CATSEG_HEAD))).eval()
    with torch.no_grad():
        for layer in tuned.clip.text_encoder.layers:
            layer.attn.qkv.v.weight.add_(0.1)
    plain = build(tiny_segmentor_cfg(ckpt, trained=True, decode_head=dict(TINY_CATSEG_HEAD)))
    state = tuned.state_dict()
    assert set(state) == set(plain.state_dict())  # the fused qkv.weight keys are kept
    plain.load_state_dict(state)
    again = build(tiny_segmentor_cfg(ckpt, trained=True, finetune='attention',
                                     decode_head=dict(TINY_CATSEG_HEAD))).eval()
    again.load_state_dict(plain.state_dict())
    plain.eval()
    image = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = tuned(image, mode='tensor')
        assert torch.allclose(plain(image, mode='tensor'), expected, atol=1e-5)
        assert torch.allclose(again(image, mode='tensor'), expected, atol=1e-5)


def test_catseg_optimizer_decays_query_value_weights_at_the_encoder_rate(ckpt):
    from mmengine.optim import build_optim_wrapper
    cat = build(tiny_segmentor_cfg(ckpt, trained=True, finetune='attention',
                                   decode_head=dict(TINY_CATSEG_HEAD)))
    wrapper = build_optim_wrapper(cat, dict(  # the schedule of configs/_base_/schedules
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
        constructor='fgclip2_mm.FGCLIP2OptimWrapperConstructor',
        paramwise_cfg=dict(lr_mult={'clip.': 0.01})))
    q = cat.clip.vision_backbone.layers[0].attn.qkv.q.weight
    k = cat.clip.vision_backbone.layers[0].attn.qkv.k.weight
    group = [g for g in wrapper.optimizer.param_groups if any(p is q for p in g['params'])][0]
    assert group['weight_decay'] == 1e-4 and group['lr'] == pytest.approx(2e-6)
    assert not any(p is k for g in wrapper.optimizer.param_groups for p in g['params'])
