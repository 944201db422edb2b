"""FGCLIP2.loss: keys, weighted sum, gradients to every parameter, degenerate batches."""
import pytest
import torch
import torch.nn.functional as F

from fgclip2_mm.models.losses import functional as LF
from fgclip2_mm.models.vlms.train_features import pretrain_features
from .helpers import LOSSES, batch, tiny_model

LOSS_KEYS = {'loss_siglip_short', 'loss_siglip_long', 'loss_region', 'loss_tic',
             'loss_hard_contrastive', 'loss_hard_pair', 'loss_hard_cmr'}


def test_keys_weighted_sum_and_reference_values():
    model = tiny_model().train()
    inputs = batch()
    losses = model(inputs, mode='loss')
    assert {k for k in losses if 'loss' in k} == LOSS_KEYS
    assert {'num_regions', 'num_hard_boxes', 'cmr_threshold', 'siglip_scale'} <= set(losses)
    parsed, _ = model.parse_losses(losses)
    torch.testing.assert_close(parsed, sum(losses[k] for k in LOSS_KEYS))
    assert losses['num_regions'] == 7 and losses['num_hard_boxes'] == 6

    # Independent recomputation from the embeddings with the pure functions.
    with torch.no_grad():
        f = {k: F.normalize(v.float(), dim=-1)
             for k, v in pretrain_features(model, inputs, True, True).items()}
        s, b = model.logit_scale, model.logit_bias
        valid = inputs['long_valid']
        expect = dict(
            loss_siglip_short=LF.sigmoid_pair_loss(f['image_embeds'], f['text_embeds'], s, b),
            loss_siglip_long=LF.sigmoid_pair_loss(f['image_embeds'], f['long_text_embeds'], s,
                                                  b, text_valid=valid),
            loss_region=0.2 * LF.region_contrastive_loss(
                f['region_embeds'], f['region_text_embeds'], model.logit_scale_region),
            loss_tic=0.1 * LF.tic_loss(f['region_text_embeds']))
        hard, _ = LF.hard_negative_loss(f['hard_region_embeds'], f['hard_text_embeds'],
                                        model.logit_scale_hardneg, 0.0)
    for key, value in expect.items():
        torch.testing.assert_close(losses[key].detach(), value, msg=key)
    hard_sum = sum(losses[k] for k in ('loss_hard_contrastive', 'loss_hard_pair',
                                       'loss_hard_cmr'))
    torch.testing.assert_close(hard_sum.detach(), 0.5 * hard)
    # Row order of the selected slots: row-major over (B, K).
    assert f['region_embeds'].shape == (7, 32) and f['hard_text_embeds'].shape == (6, 11, 32)


def test_every_parameter_gets_a_gradient():
    model = tiny_model().train()
    parsed, _ = model.parse_losses(model(batch(), mode='loss'))
    parsed.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    zero = [n for n, p in model.named_parameters() if not p.grad.any()]
    assert zero == []


def test_batch_without_boxes_keeps_every_parameter_in_the_graph():
    """All-Chinese batch without boxes: region terms are graph-connected zeros, so DDP with
    find_unused_parameters=False sees a gradient (zero) for the dense and box heads."""
    model = tiny_model().train()
    losses = model(batch(regions=False), mode='loss')
    for key in ('loss_region', 'loss_tic', 'loss_hard_contrastive', 'loss_hard_pair',
                'loss_hard_cmr'):
        assert losses[key].item() == 0.0 and losses[key].requires_grad, key
    assert losses['num_regions'] == 0 and losses['num_hard_boxes'] == 0
    parsed, _ = model.parse_losses(losses)
    parsed.backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    head = model.vision_backbone.dense_head
    assert all(not p.grad.any() for p in head.parameters())
    assert not model.text_encoder.boxtext_head.weight.grad.any()
    assert model.text_encoder.head.weight.grad.any()


def test_single_box_and_disabled_terms():
    inputs = batch()
    inputs['region_valid'][:] = False
    inputs['region_valid'][2, 1] = True
    model = tiny_model(losses=dict(LOSSES, tic=None))
    losses = model(inputs, mode='loss')
    assert 'loss_tic' not in losses and losses['num_regions'] == 1
    assert losses['num_hard_boxes'] == 1  # hard slots count only where a region is valid
    # One box: InfoNCE over a single candidate is exactly 0, still in the graph.
    assert losses['loss_region'].item() == 0.0 and losses['loss_region'].requires_grad
    assert losses['loss_hard_pair'] > 0  # its 11 texts still compete
    model = tiny_model(losses=dict(sigmoid=LOSSES['sigmoid']))
    losses = model({k: v for k, v in inputs.items() if 'region' not in k and 'hard' not in k},
                   mode='loss')
    assert {k for k in losses if 'loss' in k} == {'loss_siglip_short', 'loss_siglip_long'}


def test_errors_name_the_problem():
    model = tiny_model()
    inputs = batch()
    del inputs['hardneg_input_ids']
    with pytest.raises(ValueError, match="missing \\['hardneg_input_ids'\\]"):
        model(inputs, mode='loss')
    with pytest.raises(ValueError, match="key 'region'"):
        tiny_model(losses=dict(fgv=LOSSES['region']))
    with pytest.raises(ValueError, match='matches no parameter'):
        tiny_model(frozen_params=('vision_backbone.no_such_head', ))


class _CustomLoss(torch.nn.Module):
    """A test-local custom loss (passed as a class, not registered)."""

    def forward(self, feats, data_samples):
        return dict(loss_custom=feats['region_embeds'].pow(2).mean() * feats['logit_scale'])


def test_custom_loss_and_frozen_params():
    model = tiny_model(losses=dict(LOSSES, custom=dict(type=_CustomLoss)),
                       frozen_params=('text_encoder.long_pos_', 'logit_bias'))
    losses = model(batch(), mode='loss')
    assert 'loss_custom' in losses
    model.parse_losses(losses)[0].backward()
    assert model.text_encoder.long_pos_ori.grad is None and model.logit_bias.grad is None
    assert not model.logit_bias.requires_grad and model.logit_scale.grad is not None


def test_repeated_texts_encoded_once_give_the_same_losses_and_gradients(monkeypatch):
    """Hard negatives that repeat (as they do across boxes) are encoded once; the losses
    and every gradient equal those of encoding each row on its own."""
    import fgclip2_mm.models.vlms.train_features as train_features
    inputs = batch()
    hard = inputs['hardneg_input_ids']
    hard[2, 1] = hard[0, 2]  # whole groups and single texts repeat
    hard[3, 0, 5:] = hard[0, 1, 5:]
    inputs['box_input_ids'][3, 1] = hard[0, 1, 0]
    encoded_rows = []

    def run(dedup: bool):
        model = tiny_model().train()
        if not dedup:
            monkeypatch.setattr(train_features, '_encode_unique', lambda ids, enc: enc(ids))
        else:
            original = train_features._encode_unique
            monkeypatch.setattr(train_features, '_encode_unique', lambda ids, enc: original(
                ids, lambda u: encoded_rows.append(u.shape[0]) or enc(u)))
        losses = model(inputs, mode='loss')
        parsed, _ = model.parse_losses(losses)
        parsed.backward()
        monkeypatch.undo()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        return {k: v.detach() for k, v in losses.items() if k.startswith('loss')}, grads

    plain_losses, plain_grads = run(dedup=False)
    dedup_losses, dedup_grads = run(dedup=True)
    total_rows = 4 + 7 + 6 * 11  # short captions, region texts, hard texts (one pass)
    assert encoded_rows and encoded_rows[-1] < total_rows  # the repeats were encoded once
    for key, value in plain_losses.items():
        torch.testing.assert_close(dedup_losses[key], value, msg=key)
    assert plain_grads.keys() == dedup_grads.keys()
    for name, grad in plain_grads.items():
        scale = float(grad.abs().max())  # float32 sums in another order
        torch.testing.assert_close(dedup_grads[name], grad, rtol=1e-4, atol=1e-5 * scale + 1e-8,
                                   msg=name)
