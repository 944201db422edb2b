"""Parity of the shared SigLIP 2 towers with transformers' independent ``Siglip2Model``.

Our random tiny model is converted to the official key names and loaded strictly into a
``Siglip2Model`` (which lacks only the FG-CLIP 2 extras); image and short-text embeddings
must agree to 1e-5 in fp32 for every pair of attention implementations.
"""
import itertools

import pytest
import torch

from fgclip2_mm.models.utils import mm_to_hf
from .helpers import MIXED_SHAPES, hf_tiny_config, naflex_batch

transformers = pytest.importorskip('transformers')

FGCLIP2_EXTRAS = ('position_embedding_ori', 'position_embedding_res', 'longtext_head',
                  'boxtext_head', 'dense_feature_head', 'logit_scale_finegraind',
                  'logit_scale_hardneg')


def _set_attn_impl(model, impl):
    for module in model.modules():
        if hasattr(module, 'attn_impl'):
            module.attn_impl = impl


def _hf_model(tiny_model, impl):
    hf = transformers.Siglip2Model._from_config(hf_tiny_config(), attn_implementation=impl)
    state, unknown = mm_to_hf(tiny_model.state_dict())
    assert unknown == []
    extras = sorted(k for k in state if any(e in k for e in FGCLIP2_EXTRAS))
    assert len(extras) == 17 + 2  # spec §10: 17 extra keys, plus our two region scales
    hf.load_state_dict({k: v for k, v in state.items() if k not in extras}, strict=True)
    return hf.eval()


def _pooled(out):
    # transformers 5.x returns output objects, 4.x tensors.
    return out if isinstance(out, torch.Tensor) else out.pooler_output


@pytest.mark.parametrize('hf_impl', ['eager', 'sdpa'])
def test_image_and_text_embeddings_match_siglip2(tiny_model, hf_impl):
    hf = _hf_model(tiny_model, hf_impl)
    batch = naflex_batch(MIXED_SHAPES + [[4, 6]], num_tokens=24)  # one image fills N
    ids = torch.randint(0, 1024, (4, 64), generator=torch.Generator().manual_seed(1))
    short_ids = ids[:, :17]  # shorter sequences use the first rows of the table
    with torch.no_grad():
        ref_img = _pooled(hf.get_image_features(**batch))
        ref_txt = _pooled(hf.get_text_features(input_ids=ids))
        ref_short = _pooled(hf.get_text_features(input_ids=short_ids))
    for ours_impl in ('eager', 'sdpa'):
        _set_attn_impl(tiny_model, ours_impl)
        with torch.no_grad():
            img = tiny_model.get_image_features(**batch)
            txt = tiny_model.get_text_features(ids, 'short')
            short = tiny_model.get_text_features(short_ids, 'short')
        assert img.shape == (7, 32) and txt.shape == (4, 32)
        torch.testing.assert_close(img, ref_img, rtol=0, atol=1e-5)
        torch.testing.assert_close(txt, ref_txt, rtol=0, atol=1e-5)
        torch.testing.assert_close(short, ref_short, rtol=0, atol=1e-5)


def test_text_attention_mask_matches_siglip2(tiny_model):
    hf = _hf_model(tiny_model, 'eager')
    ids = torch.randint(3, 1024, (3, 64), generator=torch.Generator().manual_seed(2))
    mask = (torch.arange(64)[None] < torch.tensor([[5], [64], [30]])).long()
    with torch.no_grad():
        ref = _pooled(hf.get_text_features(input_ids=ids, attention_mask=mask))
        ours = tiny_model.get_text_features(ids, 'short', attention_mask=mask)
        no_mask = tiny_model.get_text_features(ids, 'short')
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    assert (ours[0] - no_mask[0]).abs().max() > 1e-3  # the mask does change the result


def test_dense_tokens_match_siglip2_last_hidden_state(tiny_model):
    """Valid rows of our post-LN tokens equal transformers' last_hidden_state."""
    hf = _hf_model(tiny_model, 'sdpa')
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24)
    with torch.no_grad():
        ref = hf.vision_model(**batch).last_hidden_state
        ours = tiny_model.vision_backbone.forward_tokens(**batch)['tokens']
    valid = batch['pixel_attention_mask'].bool()
    torch.testing.assert_close(ours[valid], ref[valid], rtol=0, atol=1e-5)


@pytest.mark.parametrize('impl', ['eager', 'sdpa'])
def test_padding_rows_do_not_influence_valid_rows(tiny_model, impl):
    _set_attn_impl(tiny_model, impl)
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24)
    noisy = dict(
        batch,
        pixel_values=batch['pixel_values'] + 1e3 * (1 - batch['pixel_attention_mask'][..., None]))
    longer = naflex_batch(MIXED_SHAPES, num_tokens=40)
    longer['pixel_values'][:, :24] = batch['pixel_values']
    with torch.no_grad():
        outs = [tiny_model.get_image_features(**b) for b in (batch, noisy, longer)]
        dense = [tiny_model.get_image_dense_feature(**b) for b in (batch, noisy)]
    for other in outs[1:]:
        torch.testing.assert_close(other, outs[0], rtol=0, atol=1e-5)
    valid = batch['pixel_attention_mask'].bool()
    torch.testing.assert_close(dense[1][valid], dense[0][valid], rtol=0, atol=1e-5)


def test_batched_equals_one_by_one(tiny_model):
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24)
    with torch.no_grad():
        full = tiny_model.get_image_features(**batch)
        single = [
            tiny_model.get_image_features(**{
                k: v[i:i + 1]
                for k, v in batch.items()
            }) for i in range(len(MIXED_SHAPES))
        ]
    torch.testing.assert_close(full, torch.cat(single), rtol=0, atol=1e-5)


def test_eager_and_sdpa_agree_on_every_output(tiny_model):
    batch = naflex_batch(MIXED_SHAPES, num_tokens=24)
    ids = torch.randint(0, 1024, (2, 196))
    results = {}
    for impl in ('eager', 'sdpa'):
        _set_attn_impl(tiny_model, impl)
        with torch.no_grad():
            results[impl] = [
                tiny_model.get_image_features(**batch),
                tiny_model.get_image_dense_feature(**batch)[batch['pixel_attention_mask'].bool()],
                tiny_model.get_text_features(ids, 'long'),
                tiny_model.get_text_features(ids[:, :64], 'box')
            ]
    for a, b in itertools.zip_longest(results['eager'], results['sdpa']):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
