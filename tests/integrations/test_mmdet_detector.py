"""The open-vocabulary detector on tiny random FG-CLIP 2 models: build in any scope, loss and
predict, a frozen backbone, masked padding, novel classes never supervised, vocabularies."""
import copy

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from mmdet.testing import demo_mm_inputs  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from fgclip2_mm.integrations.mmdet import FGCLIP2TextEmbedder  # noqa: E402
from fgclip2_mm.integrations.mmdet.testing import (synthetic_world, tiny_detector_cfg,  # noqa
                                                   write_tiny_checkpoint)
from fgclip2_mm.registry import MODELS  # noqa: E402

BASE = ['circle', 'square', 'triangle']
CLASSES = BASE + ['heart']  # 'heart' is novel
VOCAB = dict(classes=CLASSES, classes_zh=['圆形', '正方形', '三角形', '爱心'], base_classes=BASE)
SIZES = [[3, 150, 200], [3, 96, 240]]


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    world = synthetic_world(str(root))
    return write_tiny_checkpoint(str(root / 'tiny_ckpt'), f'{world}/tokenizer')


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('embed_cache'))


def build(ckpt, cache_dir, scope='mmdet', **kwargs):
    cfg = ConfigDict(tiny_detector_cfg(ckpt, cache_dir, vocabulary=VOCAB, **kwargs))
    with DefaultScope.overwrite_default_scope(scope):
        return MMDET_MODELS.build(cfg)


def batch(det, training, labels=(0, 1, 3)):
    torch.manual_seed(0)
    packed = demo_mm_inputs(2, SIZES, num_items=[len(labels), 1], num_classes=len(CLASSES))
    packed['data_samples'][0].gt_instances.labels = torch.tensor(labels)
    packed['data_samples'][1].gt_instances.labels = torch.tensor([0])
    return det.data_preprocessor(packed, training)


@pytest.mark.parametrize('scope', ['mmdet', 'fgclip2_mm', None])
def test_builds_in_any_default_scope_and_leaves_the_config_alone(ckpt, cache_dir, scope):
    cfg = tiny_detector_cfg(ckpt, cache_dir, vocabulary=VOCAB)
    original = copy.deepcopy(cfg)
    for registry in (MMDET_MODELS, MODELS):
        with DefaultScope.overwrite_default_scope(scope):
            det = registry.build(cfg)
        assert type(det).__name__ == 'FGCLIP2OVDetector'
        assert det.classes == CLASSES
    assert cfg == original, 'building must not mutate the config'


def test_loss_backward_and_predict(ckpt, cache_dir):
    det = build(ckpt, cache_dir).train()
    losses = det(**batch(det, True), mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert key in losses, key
    total = sum(v if torch.is_tensor(v) else sum(v) for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    vit = det.backbone.vit
    assert all(p.grad is None and not p.requires_grad for p in vit.parameters())
    heads = [det.backbone.levels, det.backbone.tap_norms, det.neck, det.rpn_head,
             det.roi_head.bbox_head]
    for module in heads:
        for name, p in module.named_parameters():
            if p.requires_grad:
                assert p.grad is not None, f'{type(module).__name__}.{name} got no gradient'

    det.eval()
    with torch.no_grad():
        out = det(**batch(det, False), mode='predict')
    for sample, (_, h, w) in zip(out, SIZES):
        pred = sample.pred_instances
        assert len(pred) > 0
        assert pred.labels.min() >= 0 and pred.labels.max() < len(CLASSES)
        assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
        assert (pred.bboxes[:, 2] <= w + 1e-3).all() and (pred.bboxes[:, 3] <= h + 1e-3).all()


def test_backbone_stays_frozen_in_train_mode(ckpt, cache_dir):
    det = build(ckpt, cache_dir)
    det.train()
    assert not det.backbone.vit.training
    assert all(not m.training for m in det.backbone.vit.modules())
    assert not any(p.requires_grad for p in det.backbone.vit.parameters())
    assert det.backbone.levels.training and det.roi_head.training


def test_padding_is_masked_out_of_the_vit(ckpt, cache_dir):
    backbone = build(ckpt, cache_dir).backbone.eval()
    torch.manual_seed(1)
    small = torch.randn(1, 3, 64, 96)  # a 4 x 6 patch grid
    padded = torch.zeros(2, 3, 128, 128)
    padded[0, :, :64, :96] = small[0]
    padded[1] = torch.randn(3, 128, 128)
    with torch.no_grad():
        alone, dense_alone = backbone(small, [(64, 96)], with_dense=True)
        both, dense_both = backbone(padded, [(64, 96), (128, 128)], with_dense=True)
        unmasked, _ = backbone(padded, None)
    # stride-16 level (identity of the tap) inside the small image's 4 x 6 grid
    torch.testing.assert_close(both[2][0, :, :4, :6], alone[2][0], atol=1e-5, rtol=1e-5)
    assert both[2][0, :, 4:, :].abs().max() == 0 and both[2][0, :, :, 6:].abs().max() == 0
    torch.testing.assert_close(dense_both['tokens'][0, :24], dense_alone['tokens'][0],
                               atol=1e-5, rtol=1e-5)
    assert dense_both['spatial_shapes'].tolist() == [[4, 6], [8, 8]]
    # Without the valid shapes the padding is attended: the features change.
    assert (unmasked[2][0, :, :4, :6] - alone[2][0]).abs().max() > 1e-3


def test_novel_classes_never_receive_a_target_or_a_gradient(ckpt, cache_dir, monkeypatch):
    det = build(ckpt, cache_dir).train()
    head = det.roi_head.bbox_head
    seen = {}

    def keep_logits(module, inputs, output):
        output.retain_grad()
        seen['logits'] = output

    head.fc_cls.register_forward_hook(keep_logits)
    original_loss = head.loss

    def spy_loss(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs):
        seen['labels'], seen['weights'] = labels.clone(), label_weights.clone()
        return original_loss(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs)

    monkeypatch.setattr(head, 'loss', spy_loss)
    losses = det(**batch(det, True, labels=(3, 3, 0)), mode='loss')  # two 'heart' boxes
    losses['loss_cls'].backward()
    novel = CLASSES.index('heart')
    grad = seen['logits'].grad
    assert grad[:, novel].abs().max() == 0, 'a novel class got a gradient'
    assert grad[:, :novel].abs().max() > 0, 'base classes must get gradients (control)'
    positive = seen['weights'] > 0
    assert not (seen['labels'][positive] == novel).any(), 'a novel class got a positive target'
    assert (seen['labels'][positive] < novel).any(), 'base boxes are still supervised'
    assert not any('class_embeds' in name for name, _ in det.named_parameters())


def test_vocabulary_swaps_and_languages(ckpt, cache_dir):
    det = build(ckpt, cache_dir).eval()
    keys = set(det.state_dict())
    embedder = FGCLIP2TextEmbedder(ckpt, templates=dict(en='synthetic_mixed_en', zh='synthetic_mixed_zh'),
                                   cache_dir=cache_dir)
    det.set_vocabulary(['红色的圆形', 'blue square'], language='auto')
    embeds = det.roi_head.bbox_head.fc_cls.class_embeds
    torch.testing.assert_close(embeds[0], embedder.encode(['红色的圆形'], 'zh', ['红色的圆形'])[0])
    torch.testing.assert_close(embeds[1], embedder.encode(['blue square'], 'en')[0])
    assert not det.roi_head.bbox_head.is_base.any(), 'unseen names are weighted as novel'
    with torch.no_grad():
        out = det(**batch(det, False, labels=(0, 1, 1)), mode='predict')
    assert all(s.pred_instances.labels.max() < 2 for s in out)
    assert set(det.state_dict()) == keys, 'the vocabulary must not change the state dict'

    en, zh = embedder.encode(CLASSES, 'en'), embedder.encode(CLASSES, 'zh', VOCAB['classes_zh'])
    both = embedder.encode(CLASSES, 'en+zh', VOCAB['classes_zh'])
    torch.testing.assert_close(both, torch.nn.functional.normalize(en + zh, dim=-1))
    assert (en * zh).sum(-1).abs().max() < 0.9999, 'English and Chinese prompts must differ'
    with pytest.raises(ValueError, match='classes_zh'):
        det.set_vocabulary(CLASSES, language='zh')
    with pytest.raises(ValueError, match="expected one of \\('en', 'zh', 'en\\+zh', 'auto'\\)"):
        det.set_vocabulary(CLASSES, language='fr')


@pytest.mark.parametrize('with_bg', [True, False], ids=['fvit-bg-in-softmax', 'classes-only'])
def test_ensemble_weights_base_and_novel_scores(ckpt, cache_dir, with_bg):
    """F-ViT (fvit_head.py:113-119): the region softmax runs over the classes and the
    background embedding, the background ensembled with alpha; the synthetic setting
    (background=False) over the classes only, the background probability the classifier's."""
    det = build(ckpt, cache_dir,
                ensemble=dict(alpha=0.0, beta=1.0, temperature=10.0, background=with_bg))
    head = det.roi_head.bbox_head
    logits = torch.randn(5, len(CLASSES) + 1)
    regions = torch.randn(5, head.fc_cls.embed_dims)
    probs = head.class_probs(logits, regions)
    cls = logits.softmax(-1)
    texts = head.fc_cls.weights() if with_bg else head.fc_cls.class_embeds
    assert texts.shape[0] == len(CLASSES) + int(with_bg)
    vlm = (10.0 * torch.nn.functional.normalize(regions, dim=-1) @ texts.t()).softmax(-1)
    torch.testing.assert_close(probs[:, :3], cls[:, :3])  # base: alpha = 0
    torch.testing.assert_close(probs[:, 3], vlm[:, 3])  # novel: beta = 1
    torch.testing.assert_close(probs[:, -1], cls[:, -1])  # background: alpha = 0
    torch.testing.assert_close(head.class_probs(logits), cls)
    # the two normalisations differ (the background takes part of the region softmax)
    other = build(ckpt, cache_dir,
                  ensemble=dict(alpha=0.0, beta=1.0, temperature=10.0, background=not with_bg))
    other.roi_head.bbox_head.load_state_dict(head.state_dict())
    assert (other.roi_head.bbox_head.class_probs(logits, regions)[:, 3] - probs[:, 3]).abs(
    ).max() > 1e-4


def test_background_is_the_text_of_background_or_learned(ckpt, cache_dir):
    """``background='text'`` (F-ViT's learn_bg=False): a fixed buffer equal to the prompt
    embedding of "background" (Chinese: 背景), not a parameter; ``'learned'``: a parameter."""
    det = build(ckpt, cache_dir)
    cls = det.roi_head.bbox_head.fc_cls
    assert cls.background == 'text'
    assert 'bg_embed' not in dict(det.named_parameters(recurse=True)) and not any(
        n.endswith('bg_embed') for n, _ in det.named_parameters())
    embedder = FGCLIP2TextEmbedder(ckpt, templates=dict(en='synthetic_mixed_en', zh='synthetic_mixed_zh'),
                                   cache_dir=cache_dir)
    torch.testing.assert_close(cls.bg_embed, embedder.encode(['background'], 'en')[0])
    det.set_vocabulary(CLASSES, classes_zh=VOCAB['classes_zh'], language='zh')
    torch.testing.assert_close(cls.bg_embed, embedder.encode(['背景'], 'zh', ['背景'])[0])
    assert not any(n.endswith('bg_embed') for n in det.state_dict()), 'not in checkpoints'

    cfg = ConfigDict(tiny_detector_cfg(ckpt, cache_dir, vocabulary=VOCAB))
    cfg.roi_head.bbox_head.background = 'learned'
    with DefaultScope.overwrite_default_scope('mmdet'):
        learned = MMDET_MODELS.build(cfg)
    assert any(n.endswith('fc_cls.bg_embed') for n, _ in learned.named_parameters())
    with pytest.raises(ValueError, match='not be given'):
        learned.roi_head.bbox_head.fc_cls.set_class_embeddings(
            torch.randn(2, cls.embed_dims), background=torch.randn(cls.embed_dims))
    with pytest.raises(ValueError, match='must be given'):
        cls.set_class_embeddings(torch.randn(2, cls.embed_dims))


def test_fvit_relu_before_the_cosine(ckpt, cache_dir):
    """``classifier.relu`` (F-ViT's ReLU on the class FC, fvit_head.py:95-96) makes every
    region embedding non-negative; without it some components are negative."""
    det = build(ckpt, cache_dir)
    cls = det.roi_head.bbox_head.fc_cls
    x = torch.randn(64, cls.in_features)
    assert (cls.embed(x) < 0).any()
    cls.relu = True
    assert (cls.embed(x) >= 0).all() and (cls.embed(x) > 0).any()


@pytest.mark.parametrize('change,match', [
    (dict(language='klingon'), 'language'),
    (dict(ensemble=dict(alpha=1.5)), 'alpha, beta in \\[0, 1\\]'),
    (dict(ensemble=dict(temperature=0.0)), 'temperature > 0'),
    (dict(ensemble=dict(gamma=1.0)), 'ensemble takes'),
    (dict(background='zero'), "background='zero' is not supported"),
    (dict(classifier=dict(embed_dims=32, background='text')), 'set background on the box head'),
    (dict(reg_class_agnostic=False), 'class-agnostic'),
])
def test_bad_head_settings_are_rejected(ckpt, cache_dir, change, match):
    cfg = ConfigDict(tiny_detector_cfg(ckpt, cache_dir))
    cfg.roi_head.bbox_head.update(change)
    with pytest.raises(ValueError, match=match), DefaultScope.overwrite_default_scope('mmdet'):
        MMDET_MODELS.build(cfg)


def test_bad_backbone_settings_are_rejected(ckpt, cache_dir):
    cfg = ConfigDict(tiny_detector_cfg(ckpt, cache_dir))
    cfg.backbone.out_indices = (0, 1)
    with pytest.raises(ValueError, match='out_indices needs 4'):
        MODELS.build(cfg.backbone)
    backbone = MODELS.build(tiny_detector_cfg(ckpt, cache_dir)['backbone'])
    with pytest.raises(ValueError, match='pad_size_divisor'):
        backbone(torch.zeros(1, 3, 40, 64))
    det = build(ckpt, cache_dir)
    det.roi_head.bbox_head.fc_cls.class_embeds = torch.zeros(0, 32)
    with pytest.raises(ValueError, match='FGCLIP2VocabularyHook'):
        det.roi_head.bbox_head.fc_cls(torch.zeros(2, 32))


def test_pyramid_levels_put_an_object_where_the_image_has_it(ckpt, cache_dir):
    """A dark square on a flat image (padded, non-square batch) must change the same cells
    at every level: stride 16 at its patch, strides 4 and 8 at the scaled cells (the change
    is measured against the same images without the square)."""
    backbone = build(ckpt, cache_dir).backbone.eval()
    shapes = [(64, 160), (96, 64)]  # 4 x 10 and 6 x 4 patch grids in a 96 x 160 batch
    squares = [(2, 7), (4, 1)]  # (row, col) of the dark patch in each image
    flat = torch.zeros(2, 3, 96, 160)
    for i, (h, w) in enumerate(shapes):
        flat[i, :, :h, :w] = 0.8
    marked = flat.clone()
    for i, (r, c) in enumerate(squares):
        marked[i, :, r * 16:(r + 1) * 16, c * 16:(c + 1) * 16] = -0.8
    with torch.no_grad():
        base, _ = backbone(flat, shapes)
        levels, _ = backbone(marked, shapes)
    for i, ((h, w), (r, c)) in enumerate(zip(shapes, squares)):
        for before, after, stride in zip(base[:3], levels[:3], (4, 8, 16)):
            k = 16 // stride
            change = (after[i] - before[i])[:, :h // stride, :w // stride].norm(dim=0)
            peak = divmod(int(change.argmax()), w // stride)
            assert r * k <= peak[0] < (r + 1) * k and c * k <= peak[1] < (c + 1) * k, \
                (i, stride, peak)
