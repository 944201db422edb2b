"""Training-time behaviour: gradients reach every parameter, frozen parts stay frozen,
gradient checkpointing is exact, bf16 autocast runs, ``loss`` mode delegates to losses."""
import copy

import pytest
import torch

from fgclip2_mm.models import FGCLIP2, FGCLIP2TextEncoder, FGCLIP2VisionTransformer
from fgclip2_mm.registry import MODELS
from .helpers import MIXED_SHAPES, naflex_batch


def _inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24, seed=seed)
    batch.update(
        input_ids=torch.randint(0, 1024, (6, 64), generator=gen),
        long_input_ids=torch.randint(0, 1024, (6, 196), generator=gen),
        box_input_ids=torch.randint(0, 1024, (6, 2, 64), generator=gen),
        hardneg_input_ids=torch.randint(0, 1024, (6, 2, 3, 64), generator=gen),
        region_boxes=torch.rand(6, 2, 4, generator=gen).sort(-1).values[..., [0, 2, 1, 3]])
    return batch


def _objective(feats):
    total = sum(v.float().sum() for v in feats.values())
    return total + (feats['image_embeds']**2).sum() + (feats['region_features']**2).sum()


def test_every_parameter_gets_a_gradient(tiny_model):
    tiny_model.train()
    feats = tiny_model(_inputs(), mode='tensor')
    assert set(feats) == {
        'image_embeds', 'text_embeds', 'long_text_embeds', 'box_text_embeds',
        'hardneg_text_embeds', 'region_features'
    }
    assert feats['hardneg_text_embeds'].shape == (6, 2, 3, 32)
    assert feats['region_features'].shape == (6, 2, 32)
    objective = _objective(feats) + sum(
        p.sum() for n, p in tiny_model.named_parameters() if n.startswith('logit_'))
    objective.backward()
    missing = [
        n for n, p in tiny_model.named_parameters()
        if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert missing == []
    zero = [n for n, p in tiny_model.named_parameters() if p.grad.abs().sum() == 0]
    assert zero == []  # (the unused halves of the long tables are rows, not parameters)
    assert 'vision_backbone.dense_head.probe' in dict(tiny_model.named_buffers())


def test_frozen_parts_get_no_gradient_and_stay_frozen():
    model = FGCLIP2(
        arch='tiny',
        vision_backbone=dict(type='FGCLIP2VisionTransformer', arch='tiny', frozen_stages=1),
        text_encoder=dict(type='FGCLIP2TextEncoder', arch='tiny', frozen=True))
    model.train()
    vit, text = model.vision_backbone, model.text_encoder
    assert not text.training and not any(p.requires_grad for p in text.parameters())
    assert not vit.layers[0].training and vit.layers[1].training and vit.head.training
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert 'vision_backbone.pos_embed' in frozen and 'vision_backbone.patch_embed.weight' in frozen
    assert 'vision_backbone.layers.1.attn.qkv.weight' not in frozen
    _objective(model(_inputs(), mode='tensor')).backward()
    for name, param in model.named_parameters():
        if not name.startswith('logit_'):  # not part of this objective
            assert (param.grad is None) == (name in frozen), name
    model.eval().train()
    assert not vit.layers[0].training and not text.training


def test_whole_vision_tower_frozen():
    vit = FGCLIP2VisionTransformer(arch='tiny', frozen=True).train()
    assert not vit.training and not any(p.requires_grad for p in vit.parameters())


def test_with_cp_is_exact():
    torch.manual_seed(0)
    model = FGCLIP2(arch='tiny').train()
    model_cp = FGCLIP2(
        arch='tiny',
        vision_backbone=dict(type='FGCLIP2VisionTransformer', arch='tiny', with_cp=True),
        text_encoder=dict(type='FGCLIP2TextEncoder', arch='tiny', with_cp=True))
    model_cp.load_state_dict(model.state_dict())
    model_cp.train()
    inputs = _inputs(1)
    losses = [_objective(m(inputs, mode='tensor')) for m in (model, model_cp)]
    for loss in losses:
        loss.backward()
    torch.testing.assert_close(losses[0], losses[1])
    for (name, p), p_cp in zip(model.named_parameters(), model_cp.parameters()):
        torch.testing.assert_close(p.grad, p_cp.grad, msg=name)


@pytest.mark.parametrize('impl', ['sdpa', 'eager'])
def test_bf16_autocast_runs_and_is_finite(tiny_model, impl):
    for module in tiny_model.modules():
        if hasattr(module, 'attn_impl'):
            module.attn_impl = impl
    tiny_model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = tiny_model(_inputs(), mode='tensor')
        logits = tiny_model.calibrated_logits(feats['image_embeds'], feats['text_embeds'])
    for key, value in feats.items():
        assert torch.isfinite(value).all(), key
    assert feats['image_embeds'].dtype == torch.bfloat16
    assert torch.isfinite(logits).all() and logits.shape == (6, 6)
    _objective(feats).backward()
    assert all(torch.isfinite(p.grad).all() for p in tiny_model.parameters() if p.grad is not None)
    # A bf16 model (no autocast) runs too.
    model = copy.deepcopy(tiny_model).to(torch.bfloat16).eval()
    with torch.no_grad():
        assert torch.isfinite(model.get_image_features(**naflex_batch(MIXED_SHAPES))).all()


class _StubLoss(torch.nn.Module):
    """A test-local loss (passed as a class, not registered globally)."""

    def forward(self, feats, data_samples):
        cos = torch.nn.functional.cosine_similarity(feats['image_embeds'], feats['text_embeds'])
        return dict(
            loss_stub=(1 - cos).mean() * feats['logit_scale'].exp().squeeze(),
            cos_mean=cos.mean().detach())


def test_loss_mode_needs_losses_and_delegates(tiny_model):
    batch = naflex_batch(MIXED_SHAPES)
    batch['input_ids'] = torch.randint(0, 1024, (6, 64))
    with pytest.raises(ValueError, match='set model.losses'):
        tiny_model(batch, mode='loss')
    model = FGCLIP2(arch='tiny', losses=dict(stub=dict(type=_StubLoss)))
    losses = model(batch, mode='loss')
    assert set(losses) == {'loss_stub', 'cos_mean'}
    parsed, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(parsed, losses['loss_stub'])
    parsed.backward()
    assert model.logit_scale.grad is not None


def test_predict_and_mode_validation(tiny_model):
    batch = naflex_batch(MIXED_SHAPES)
    samples = tiny_model(batch, mode='predict')
    assert len(samples) == 6 and samples[0].image_embeds.shape == (32, )
    with pytest.raises(ValueError, match="expected one of \\('tensor', 'loss', 'predict'\\)"):
        tiny_model(batch, mode='train')
    with pytest.raises(ValueError, match='unknown input keys'):
        tiny_model(dict(batch, images=batch['pixel_values']))


def test_configs_are_not_mutated_and_builds_are_independent():
    vit_cfg = dict(
        type='FGCLIP2VisionTransformer', arch='tiny', out_type='raw', out_indices=[0, -1])
    text_cfg = dict(
        type='FGCLIP2TextEncoder',
        arch=dict(embed_dims=32, num_layers=1, num_heads=4, mlp_dims=37, vocab_size=50))
    cfg = dict(
        type='FGCLIP2',
        arch='tiny',
        vision_backbone=vit_cfg,
        text_encoder=text_cfg,
        losses=dict(stub=dict(type=_StubLoss)))
    snapshot = copy.deepcopy(cfg)
    first, second = MODELS.build(cfg), MODELS.build(cfg)
    assert cfg == snapshot
    assert first.vision_backbone.out_indices == (0, 1)
    assert first.text_encoder.token_embedding.num_embeddings == 50
    assert first.vision_backbone.arch is not second.vision_backbone.arch
    text = FGCLIP2TextEncoder(arch='tiny', vocab_size=77)
    assert text.token_embedding.num_embeddings == 77


def test_train_step_through_the_default_data_preprocessor():
    """Unpadded per-sample patches + data samples -> FGCLIP2DataPreprocessor -> loss."""
    from mmengine.optim import OptimWrapper
    from fgclip2_mm.structures import FGCLIP2DataSample
    torch.manual_seed(0)
    model = FGCLIP2(arch='tiny', losses=dict(stub=dict(type=_StubLoss)))
    inputs, samples = [], []
    for h, w in MIXED_SHAPES:
        inputs.append(torch.randn(h * w, 768))
        sample = FGCLIP2DataSample(metainfo=dict(spatial_shape=(h, w)))
        sample.text_short = torch.randint(0, 1024, (64, ))
        samples.append(sample)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.logit_scale.detach().clone()
    log_vars = model.train_step(dict(inputs=inputs, data_samples=samples), optim)
    assert set(log_vars) == {'loss', 'loss_stub', 'cos_mean'}
    assert not torch.equal(model.logit_scale.detach(), before)
    preds = model.val_step(dict(inputs=inputs, data_samples=samples))
    assert preds[0].image_embeds.shape == (32, ) and preds[0].text_embeds.shape == (32, )
