"""A random checkpoint in the official HF layout loads through ``load_fgclip2`` and its
FG-CLIP 2 extras (box / long walks, dense head) match computations written from the spec
with independent code (transformers' SigLIP 2 towers, ``nn.MultiheadAttention``)."""
import pytest
import torch
import torch.nn.functional as F

from fgclip2_mm.apis import load_fgclip2
from fgclip2_mm.models.utils import stretch_text_pos_embed
from .helpers import (MIXED_SHAPES, TINY, hf_tiny_config, naflex_batch, official_config,
                      official_state_dict, write_official_folder)

transformers = pytest.importorskip('transformers')


@pytest.fixture(scope='module')
def official(tmp_path_factory):
    state = official_state_dict(seed=3)
    folder = tmp_path_factory.mktemp('official') / 'fg-clip2-tiny'
    write_official_folder(folder, state, official_config())
    return folder, state


def _tower(cls, config, state, prefix):
    model = cls._from_config(config, attn_implementation='eager').eval()
    model.load_state_dict(
        {
            k[len(prefix):]: v
            for k, v in state.items()
            if k.startswith(prefix) and '_ori.' not in k and '_res.' not in k
        },
        strict=True)
    return model


def _last_token(text_model, ids):
    with torch.no_grad():
        return text_model(input_ids=ids).last_hidden_state[:, -1]


def test_loads_and_maps_region_scales(official):
    folder, state = official
    model = load_fgclip2(folder)
    assert not model.training
    assert model.logit_scale_region.item() == 3.25
    assert model.logit_scale_hardneg.item() == 2.5
    torch.testing.assert_close(model.logit_bias.data, state['logit_bias'], rtol=0, atol=0)
    assert isinstance(model.logit_scale_region, torch.nn.Parameter)


def test_box_and_short_walks_match_spec(official):
    folder, state = official
    model = load_fgclip2(folder)
    text = _tower(transformers.Siglip2TextModel,
                  hf_tiny_config().text_config, state, 'text_model.')
    ids = torch.randint(0, TINY['vocab'], (3, 64), generator=torch.Generator().manual_seed(0))
    pooled = _last_token(text, ids)  # after final_layer_norm, no text head
    box_ref = F.linear(pooled, state['boxtext_head.weight'], state['boxtext_head.bias'])
    short_ref = F.linear(pooled, state['text_model.head.weight'], state['text_model.head.bias'])
    with torch.no_grad():
        torch.testing.assert_close(model.get_text_features(ids, 'box'), box_ref, rtol=0, atol=1e-5)
        torch.testing.assert_close(
            model.get_text_features(ids, 'short'), short_ref, rtol=0, atol=1e-5)


def test_long_walk_matches_spec(official):
    folder, state = official
    model = load_fgclip2(folder)
    config = hf_tiny_config(text=dict(max_position_embeddings=196)).text_config
    long_state = dict(state)
    long_state['text_model.embeddings.position_embedding.weight'] = torch.cat([
        state['text_model.embeddings.position_embedding_ori.weight'][:20],
        state['text_model.embeddings.position_embedding_res.weight'][20:]
    ])
    text = _tower(transformers.Siglip2TextModel, config, long_state, 'text_model.')
    ids = torch.randint(0, TINY['vocab'], (2, 196), generator=torch.Generator().manual_seed(1))
    ref = F.linear(
        _last_token(text, ids), state['longtext_head.weight'], state['longtext_head.bias'])
    with torch.no_grad():
        torch.testing.assert_close(model.get_text_features(ids, 'long'), ref, rtol=0, atol=1e-5)


def test_dense_features_match_spec(official):
    """Dense = MHA(query=key=value=post-LN tokens, padding keys masked), then A + MLP(LN(A)),
    with the dense head's own weights (spec §1.4), checked with nn.MultiheadAttention."""
    folder, state = official
    model = load_fgclip2(folder)
    vision = _tower(transformers.Siglip2VisionModel,
                    hf_tiny_config().vision_config, state, 'vision_model.')
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24, seed=5)
    with torch.no_grad():
        tokens = vision(**batch).last_hidden_state
        mha = torch.nn.MultiheadAttention(TINY['dims'], TINY['heads'], batch_first=True)
        prefix = 'dense_feature_head.attention.'
        mha.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        pad = ~batch['pixel_attention_mask'].bool()
        attn = mha(tokens, tokens, tokens, key_padding_mask=pad, need_weights=False)[0]
        p = 'dense_feature_head.'
        normed = F.layer_norm(
            attn, (TINY['dims'], ),
            state[p + 'layernorm.weight'],
            state[p + 'layernorm.bias'],
            eps=1e-6)
        hidden = F.gelu(
            F.linear(normed, state[p + 'mlp.fc1.weight'], state[p + 'mlp.fc1.bias']),
            approximate='tanh')
        ref = attn + F.linear(hidden, state[p + 'mlp.fc2.weight'], state[p + 'mlp.fc2.bias'])
        ours = model.get_image_dense_feature(**batch)
    valid = ~pad
    torch.testing.assert_close(ours[valid], ref[valid], rtol=0, atol=1e-5)
    assert torch.equal(model.vision_backbone.dense_head.probe, state[p + 'probe'])


def test_stretch_matches_hand_computed_rows(official):
    model = load_fgclip2(official[0])
    enc = model.text_encoder
    old = enc.pos_embed.detach().clone()
    enc.init_long_pos_from_short()
    new = enc.long_pos_ori.detach()
    assert new.shape == (196, TINY['dims']) and torch.equal(new, enc.long_pos_res.detach())
    assert torch.equal(new[:20], old[:20])
    assert torch.equal(new[20], old[20])
    assert torch.equal(new[21], 0.75 * old[20] + 0.25 * old[21])
    assert torch.equal(new[22], 0.5 * old[20] + 0.5 * old[21])
    assert torch.equal(new[23], 0.25 * old[20] + 0.75 * old[21])
    assert torch.equal(new[24], old[21])
    assert torch.equal(new[191], 0.25 * old[62] + 0.75 * old[63])
    assert torch.equal(new[192], old[63])
    assert torch.equal(new[195], old[63] + 0.75 * (old[63] - old[62]))
    with pytest.raises(ValueError, match='4\\*64'):
        stretch_text_pos_embed(old, keep_len=20, new_len=200)


def test_siglip2_checkpoint_derives_the_extras(tmp_path):
    state = official_state_dict(seed=4, with_extras=False)
    write_official_folder(tmp_path / 's2', state, official_config('siglip2'))
    model = load_fgclip2(tmp_path / 's2')
    enc, vit = model.text_encoder, model.vision_backbone
    ref = stretch_text_pos_embed(state['text_model.embeddings.position_embedding.weight'])
    assert torch.equal(enc.long_pos_ori.detach(), ref)
    assert torch.equal(enc.boxtext_head.weight, enc.head.weight)
    for key, value in vit.head.state_dict().items():
        assert torch.equal(vit.dense_head.state_dict()[key], value)
    assert model.logit_scale_region.item() == pytest.approx(4.6052, abs=1e-4)


@pytest.mark.parametrize('case', ['missing', 'unexpected', 'shape'])
def test_bad_checkpoints_raise_clear_errors(tmp_path, case):
    state = official_state_dict(seed=6)
    if case == 'missing':
        del state['boxtext_head.bias']
        match = 'missing keys.*boxtext_head.bias'
    elif case == 'unexpected':
        state['text_model.mystery.weight'] = torch.zeros(2)
        match = 'unrecognised keys.*text_model.mystery.weight'
    else:
        state['longtext_head.weight'] = torch.zeros(3, 3)
        match = 'shape mismatches.*longtext_head.weight'
    write_official_folder(tmp_path / case, state, official_config())
    with pytest.raises(ValueError, match=match):
        load_fgclip2(tmp_path / case)
    with pytest.raises(ValueError, match='neither'):
        load_fgclip2(tmp_path)


def test_bf16_checkpoint_and_config_numbers(tmp_path):
    state = {k: v.to(torch.bfloat16) for k, v in official_state_dict(seed=7).items()}
    config = official_config()
    config['text_config']['vocab_size'] = TINY['vocab']
    write_official_folder(tmp_path / 'bf16', state, config)
    model = load_fgclip2(tmp_path / 'bf16')
    assert model.logit_scale.dtype == torch.float32
    assert model.arch_dict()['vision']['num_patches'] == 16
    assert model.arch_dict()['text']['mlp_dims'] == 37
    half = load_fgclip2(tmp_path / 'bf16', dtype=torch.bfloat16)
    assert half.text_encoder.pos_embed.dtype == torch.bfloat16
    assert torch.equal(half.text_encoder.pos_embed.detach(),
                       state['text_model.embeddings.position_embedding.weight'])
