"""Embeddings of one pretraining batch, batched over images, slots and text families.

Used by :meth:`FGCLIP2.loss`. Everything is computed with whole-batch tensor ops:

* the vision tower runs once; the MAP head gives the image embeddings and, when region
  losses are configured, the dense head plus **one** :func:`roi_align_1x1` call pools all
  B x K region slots (padding slots included, they are cheap);
* valid slots are selected with one ``nonzero`` of the (B, K) mask (regions) and one of
  the hard mask: two host synchronisations per step, whatever B and K (the reference has a
  Python loop with ``.item()`` per image, spec 3.7 #7);
* only valid region texts and valid hard-negative groups are encoded; every short-length
  text family (short captions, region texts, hard texts) of the same token length goes
  through the text transformer in **one** pass, then through its walk's head; identical
  token rows (repeated hard negatives and region phrases) are encoded once.

Empty selections (a Chinese batch without boxes) give (0, D) tensors that are still
produced by the dense head and the box head, so those parameters stay in the autograd graph
(they receive zero gradients and DDP with ``find_unused_parameters=False`` does not hang).
"""
from typing import Dict, List, Optional, Tuple

import torch

from ..text_encoders.fgclip2_text_encoder import WALK_HEADS
from ..utils.region_features import normalized_boxes_to_grid, roi_align_1x1

REGION_KEYS = ('region_boxes', 'region_valid', 'box_input_ids')
HARD_KEYS = ('region_boxes', 'region_valid', 'hard_valid', 'hardneg_input_ids')


def _require(inputs: dict, keys: Tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if key not in inputs]
    if missing:
        raise ValueError(f'the {what} loss needs the inputs {list(keys)}; missing {missing} '
                         '(FGCLIP2SampleRegions -> FGCLIP2Tokenize -> FGCLIP2PackInputs '
                         'produce them)')


def _slot_index(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the True entries of a (B, K) mask (one host sync)."""
    return mask.reshape(-1).to(torch.bool).nonzero().squeeze(1)


def _encode_unique(ids: torch.Tensor, encode) -> torch.Tensor:
    """``encode(ids)`` computed once per distinct row of ``ids``.

    The text transformer treats rows independently (no dropout, no batch statistics), so
    encoding the distinct token rows and gathering them back is exact, and the gather sums
    the gradients of repeated rows. Hard negatives and region phrases repeat a lot within
    a batch (a shared vocabulary of attributes); on the synthetic world this removes most
    of the text cost.
    """
    if ids.shape[0] < 2:
        return encode(ids)
    unique, inverse = torch.unique(ids, dim=0, return_inverse=True)
    if unique.shape[0] == ids.shape[0]:
        return encode(ids)
    return encode(unique).index_select(0, inverse)


def encode_texts_fused(text_encoder, groups: List[Tuple[torch.Tensor, str]]) -> List:
    """Encode several (ids (n_i, L_i), walk) groups, one transformer pass per length.

    Short and box walks share the 64-row position table, so texts of equal length go
    through the transformer together and only the heads differ. Long-walk groups are
    encoded on their own.

    Returns:
        list[Tensor]: One (n_i, D) tensor per group, in order.
    """
    outs: List[Optional[torch.Tensor]] = [None] * len(groups)
    by_length: Dict[int, List[int]] = {}
    for i, (ids, walk) in enumerate(groups):
        if walk == 'long':
            outs[i] = _encode_unique(ids, lambda u: text_encoder(u, 'long'))
        else:
            by_length.setdefault(ids.shape[-1], []).append(i)
    for members in by_length.values():
        ids = torch.cat([groups[i][0] for i in members])
        pooled = _encode_unique(ids, lambda u: text_encoder.forward_tokens(u, 'short')[:, -1])
        for i, chunk in zip(members, pooled.split([groups[i][0].shape[0] for i in members])):
            outs[i] = getattr(text_encoder, WALK_HEADS[groups[i][1]])(chunk)
    return outs


def pretrain_features(model, inputs: dict, regions: bool, hard: bool) -> dict:
    """Every embedding the pretraining losses need, for one batch.

    Args:
        model (FGCLIP2): The model.
        inputs (dict): Preprocessor output: ``pixel_values``, ``pixel_attention_mask``,
            ``spatial_shapes``, ``input_ids`` (B, L), optional ``long_input_ids`` (B, 196)
            and ``long_valid`` (B,), and for regions ``region_boxes`` (B, K, 4),
            ``region_valid`` (B, K), ``box_input_ids`` (B, K, L), for hard negatives
            ``hard_valid`` (B, K) and ``hardneg_input_ids`` (B, K, T, L).
        regions (bool): Compute the region embeddings (region / TIC losses).
        hard (bool): Compute the hard-negative embeddings.

    Returns:
        dict: ``image_embeds`` (B, D), ``text_embeds`` (B, D), ``long_text_embeds`` (B, D)
        when present; with regions ``region_embeds`` (n, D) and ``region_text_embeds``
        (n, D) for the n valid slots (row-major over (B, K)); with hard negatives
        ``hard_region_embeds`` (m, D) and ``hard_text_embeds`` (m, T, D) for the m valid
        hard slots. None of them is normalised.
    """
    for key in ('pixel_values', 'input_ids'):
        if key not in inputs:
            raise ValueError(f'pretraining needs the input {key!r}; got {sorted(inputs)}')
    if regions:
        _require(inputs, REGION_KEYS, 'region')
    if hard:
        _require(inputs, HARD_KEYS, 'hard-negative')
    vit, text = model.vision_backbone, model.text_encoder
    vis = vit.forward_tokens(inputs['pixel_values'], inputs.get('pixel_attention_mask'),
                             inputs.get('spatial_shapes'))
    out = dict(image_embeds=vit.head(vis['tokens'], vis['key_mask']))
    groups = []
    if 'attention_mask' in inputs:  # not fused: only the short walk takes a mask
        out['text_embeds'] = text(inputs['input_ids'], 'short', inputs['attention_mask'])
    else:
        groups.append(('text_embeds', inputs['input_ids'], 'short'))
    if 'long_input_ids' in inputs:
        groups.append(('long_text_embeds', inputs['long_input_ids'], 'long'))
    if regions or hard:
        dense = vit.dense_head.forward_dense(vis['tokens'], vis['key_mask'])
        grid = normalized_boxes_to_grid(inputs['region_boxes'].float(), vis['spatial_shapes'])
        slots = roi_align_1x1(dense, vis['spatial_shapes'], grid).flatten(0, 1)  # (B*K, D)
        region_valid = inputs['region_valid'].to(torch.bool)
    if regions:
        index = _slot_index(region_valid)
        out['region_embeds'] = slots.index_select(0, index)
        box_ids = inputs['box_input_ids'].flatten(0, 1).index_select(0, index)
        groups.append(('region_text_embeds', box_ids, 'box'))
    if hard:
        index = _slot_index(inputs['hard_valid'].to(torch.bool) & region_valid)
        out['hard_region_embeds'] = slots.index_select(0, index)
        hard_ids = inputs['hardneg_input_ids'].flatten(0, 1).index_select(0, index)
        hard_shape = (hard_ids.shape[0], hard_ids.shape[1])  # (m, T), host ints
        groups.append(('hard_text_embeds', hard_ids.flatten(0, 1), 'box'))
    encoded = encode_texts_fused(text, [(ids, walk) for _, ids, walk in groups])
    for (key, _, _), value in zip(groups, encoded):
        out[key] = value
    if hard:
        texts = out['hard_text_embeds']
        out['hard_text_embeds'] = texts.reshape(*hard_shape, texts.shape[-1])
    return out
