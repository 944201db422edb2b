"""Options and validation of the registered towers, the arch zoo and the registry."""
import importlib

import pytest
import torch
from mmengine.registry import DefaultScope

from fgclip2_mm.models import FGCLIP2TextEncoder, FGCLIP2VisionTransformer
from fgclip2_mm.models.utils import get_arch
from fgclip2_mm.registry import MODELS
from .helpers import MIXED_SHAPES, naflex_batch


def _vit(**kwargs):
    torch.manual_seed(0)
    return FGCLIP2VisionTransformer(arch='tiny', **kwargs).eval()


@pytest.mark.parametrize('kwargs,match', [
    (dict(out_indices=2), 'out of range for 2 layers'),
    (dict(out_indices=-3), 'out of range'),
    (dict(out_indices=[0, -2], out_type='raw'), 'name a layer twice'),
    (dict(out_indices=[]), 'non-empty sequence'),
    (dict(out_indices=[0.5]), 'sequence of ints'),
    (dict(out_indices=0), "out_type='pooled' uses the last layer only"),
    (dict(out_type='cls_token'), "expected one of \\('pooled', 'dense', 'raw', 'featmap'\\)"),
    (dict(frozen_stages=3), 'frozen_stages=3 must lie in \\[-1, 2\\]'),
    (dict(attn_impl='flash'), "expected one of \\('sdpa', 'eager'\\)"),
])
def test_vision_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGCLIP2VisionTransformer(arch='tiny', **kwargs)


def test_out_indices_are_not_mutated():
    indices = [-1, 0]
    vit = _vit(out_type='raw', out_indices=indices)
    assert indices == [-1, 0] and vit.out_indices == (1, 0)


def test_out_types_agree_with_each_other():
    batch = naflex_batch(MIXED_SHAPES)
    vit = _vit(out_type='raw', out_indices=[-1, 0])
    with torch.no_grad():
        last, first = vit(**batch)
        feats = vit.forward_tokens(**batch)
        pooled = vit.head(feats['tokens'], feats['key_mask'])
        dense = vit.dense_head.forward_dense(feats['tokens'], feats['key_mask'])
        first_only = vit.forward_tokens(**batch, out_indices=(0, ))['outs'][0]
    torch.testing.assert_close(last, feats['tokens'])
    torch.testing.assert_close(first, first_only)
    for out_type, ref in (('pooled', pooled), ('dense', dense)):
        other = _vit(out_type=out_type)
        other.load_state_dict(vit.state_dict())
        with torch.no_grad():
            (out, ) = other(**batch)
        torch.testing.assert_close(out, ref)


def test_featmap_and_image_input():
    vit = _vit(out_type='featmap', out_indices=(0, 1))
    images = torch.randn(2, 3, 48, 80)  # 3 x 5 patches, no padding
    patches = vit.patchify(images)
    assert patches.shape == (2, 15, 768)
    # Patch (r, c) holds pixel rows 16r.., columns 16c.., flattened (py, px, channel).
    assert torch.equal(patches[1, 5 + 2].reshape(16, 16, 3), images[1, :, 16:32,
                                                                    32:48].permute(1, 2, 0))
    shapes = torch.tensor([[3, 5], [3, 5]])
    with torch.no_grad():
        maps = vit(images)
        raw = vit.forward_tokens(
            torch.cat([patches, torch.zeros(2, 4, 768)], 1),
            spatial_shapes=shapes,
            out_indices=(0, 1))['outs']
    assert [tuple(m.shape) for m in maps] == [(2, 32, 3, 5)] * 2
    for fmap, tokens in zip(maps, raw):
        torch.testing.assert_close(
            fmap.flatten(2).transpose(1, 2), tokens[:, :15], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='one \\(h, w\\) for the whole batch'):
        vit(**naflex_batch(MIXED_SHAPES))
    with pytest.raises(ValueError, match='not a multiple of the patch size'):
        vit(torch.randn(1, 3, 40, 48))
    with pytest.raises(ValueError, match='spatial_shapes'):
        vit(patches)


def test_pos_embed_of_another_grid_is_resized_on_load():
    vit = _vit()
    state = vit.state_dict()
    state['pos_embed'] = torch.randn(64, 32)  # an 8 x 8 grid
    vit.load_state_dict(state)
    expected = torch.nn.functional.interpolate(
        state['pos_embed'].reshape(1, 8, 8, 32).permute(0, 3, 1, 2),
        size=(4, 4),
        mode='bilinear',
        align_corners=False,
        antialias=True)
    torch.testing.assert_close(vit.pos_embed.detach(), expected[0].flatten(1).T, rtol=0, atol=1e-6)


def test_layer_depth():
    vit = _vit()
    assert vit.get_layer_depth('pos_embed') == (0, 4)
    assert vit.get_layer_depth('backbone.layers.1.ln1.weight', 'backbone.') == (2, 4)
    assert vit.get_layer_depth('head.probe') == (3, 4)


def test_text_walk_lengths_and_errors():
    torch.manual_seed(0)
    enc = FGCLIP2TextEncoder(arch='tiny').eval()
    ids = torch.randint(0, 1024, (2, 196))
    with pytest.raises(ValueError, match="'short' walk takes at most 64 tokens, got 65"):
        enc(ids[:, :65], 'short')
    with pytest.raises(ValueError, match="'box' walk takes at most 64"):
        enc(ids[:, :100], 'box')
    with pytest.raises(ValueError, match='exactly 196 .* got 64'):
        enc(ids[:, :64], 'long')
    with pytest.raises(ValueError, match='walk_type=.medium.'):
        enc(ids[:, :64], 'medium')
    with pytest.raises(ValueError, match='walk_type=Tensor .*attention_mask by keyword'):
        enc(ids[:, :64], torch.ones(2, 64))  # official positional order (ids, mask)
    loose = FGCLIP2TextEncoder(arch='tiny', long_walk_any_length=True).eval()
    loose.load_state_dict(enc.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(loose(ids, 'long'), enc(ids, 'long'), rtol=0, atol=0)
        short_long = loose(ids[:, :30], 'long')
        table = loose.pos_table('long', 30)
    assert short_long.shape == (2, 32)
    assert torch.equal(table[:20], loose.long_pos_ori[:20])
    assert torch.equal(table[20:], loose.long_pos_res[20:30])
    with pytest.raises(ValueError, match='at most 196'):
        loose(torch.zeros(1, 197, dtype=torch.long), 'long')
    with torch.no_grad():
        grouped = enc(ids[:, :64].reshape(2, 1, 64), 'box')
    assert grouped.shape == (2, 1, 32)


def test_arch_validation():
    with pytest.raises(ValueError, match="unknown arch 'huge'.*'base', 'large', 'so400m'"):
        get_arch('huge')
    with pytest.raises(ValueError, match="missing keys \\['num_heads', 'mlp_dims'\\]"):
        FGCLIP2VisionTransformer(arch=dict(embed_dims=32, num_layers=1))
    with pytest.raises(ValueError, match='unknown keys \\[.depth.\\]'):
        FGCLIP2TextEncoder(arch=dict(get_arch('tiny')['text'], depth=3))
    with pytest.raises(ValueError, match='not divisible'):
        FGCLIP2VisionTransformer(arch=dict(embed_dims=30, num_layers=1, num_heads=4, mlp_dims=8))
    with pytest.raises(ValueError, match='not a square'):
        FGCLIP2VisionTransformer(arch=dict(get_arch('tiny')['vision'], num_patches=20))
    base = get_arch('base')
    assert base['vision']['embed_dims'] == 768 and base['text']['vocab_size'] == 256000
    assert get_arch('so400m')['vision']['mlp_dims'] == 4304
    assert get_arch('large')['text']['num_layers'] == 24


@pytest.mark.parametrize('scope', [None, 'mmdet', 'mmseg'])
def test_scoped_build_from_a_host(scope):
    """As a host config would: the host's MODELS registry under the host's default scope;
    our sub-modules are still found (build_owned pins our scope)."""
    registry = MODELS
    if scope is not None:
        registry = importlib.import_module(pytest.importorskip(scope).__name__ +
                                           '.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='fgclip2_mm.FGCLIP2', arch='tiny'))
    assert isinstance(model.vision_backbone, FGCLIP2VisionTransformer)
    assert isinstance(model.text_encoder, FGCLIP2TextEncoder)


@pytest.mark.parametrize('impl', ['sdpa', 'eager'])
def test_token_packing_keeps_valid_rows(impl):
    packed = _vit(out_type='raw', out_indices=(0, 1), attn_impl=impl)
    plain = _vit(out_type='raw', out_indices=(0, 1), attn_impl=impl, pack_tokens=False)
    plain.load_state_dict(packed.state_dict())
    batch = naflex_batch(MIXED_SHAPES, num_tokens=40)  # ~80% padding -> packed
    valid = batch['pixel_attention_mask'].bool()
    with torch.no_grad():
        outs_packed, outs_plain = packed(**batch), plain(**batch)
        pooled = [packed.head(o, valid) for o in (outs_packed[1], outs_plain[1])]
    for a, b in zip(outs_packed, outs_plain):
        torch.testing.assert_close(a[valid], b[valid], rtol=0, atol=1e-5)
    assert outs_packed[0][~valid].abs().max() == 0  # padding rows are zeros when packed
    torch.testing.assert_close(pooled[0], pooled[1], rtol=0, atol=1e-5)
