"""Pure conversions between the official FG-CLIP 2 (Hugging Face) layout and ours.

State dicts (spec §7.2 -> ours; ``{t}`` = ``text_model``, ``{v}`` = ``vision_model``):

=====================================================  ======================================
official                                               ours
=====================================================  ======================================
``logit_scale``, ``logit_bias``                        same
``logit_scale_finegraind`` / ``logit_scale_hardneg``   ``logit_scale_region`` / same name
``{t}.embeddings.token_embedding.weight``              ``text_encoder.token_embedding.weight``
``{t}.embeddings.position_embedding.weight``           ``text_encoder.pos_embed``
``{t}.embeddings.position_embedding_{ori,res}.weight`` ``text_encoder.long_pos_{ori,res}``
``{t}.final_layer_norm.*``, ``{t}.head.*``             ``text_encoder.{ln_final,head}.*``
``boxtext_head.*``, ``longtext_head.*``                ``text_encoder.{boxtext,longtext}_head.*``
``{v}.embeddings.patch_embedding.*``                   ``vision_backbone.patch_embed.*``
``{v}.embeddings.position_embedding.weight``           ``vision_backbone.pos_embed``
``{v}.post_layernorm.*``                               ``vision_backbone.ln_post.*``
``{v}.head.*`` / ``dense_feature_head.*``              ``vision_backbone.{head,dense_head}.*``
``  probe``, ``attention.in_proj_{weight,bias}``       ``  probe``, ``attn.qkv.{weight,bias}``
``  attention.out_proj.*``, ``layernorm.*``, ``mlp.*`` ``  attn.proj.*``, ``ln.*``, ``mlp.*``
``{t|v}.encoder.layers.{i}.layer_norm{1,2}.*``         ``{tower}.layers.{i}.ln{1,2}.*``
``  self_attn.{q,k,v}_proj.*`` (three tensors)         ``  attn.qkv.*`` (rows q, k, v stacked)
``  self_attn.out_proj.*``, ``mlp.fc{1,2}.*``          ``  attn.proj.*``, ``mlp.fc{1,2}.*``
=====================================================  ======================================

The only non-renaming step is stacking / splitting q, k, v, both exact, so conversions
round-trip bit for bit and keep every tensor's dtype. Scalars keep their shape.

Configs: :func:`hf_config_to_arch` reads the numbers of an official ``config.json``;
:func:`arch_to_hf_config` writes one in the official layout (Siglip2Config-like plus
``keep_len``/``longtext_len``).
"""
import copy
import re
from typing import Dict, Optional

import torch

from .arch_zoo import get_arch

Tensor = torch.Tensor

_HEAD_HF2MM = {
    'probe': 'probe',
    'attention.in_proj_weight': 'attn.qkv.weight',
    'attention.in_proj_bias': 'attn.qkv.bias',
    'attention.out_proj.weight': 'attn.proj.weight',
    'attention.out_proj.bias': 'attn.proj.bias',
    'layernorm.weight': 'ln.weight',
    'layernorm.bias': 'ln.bias',
    'mlp.fc1.weight': 'mlp.fc1.weight',
    'mlp.fc1.bias': 'mlp.fc1.bias',
    'mlp.fc2.weight': 'mlp.fc2.weight',
    'mlp.fc2.bias': 'mlp.fc2.bias'
}
_LAYER_HF2MM = {
    'layer_norm1': 'ln1',
    'layer_norm2': 'ln2',
    'self_attn.out_proj': 'attn.proj',
    'mlp.fc1': 'mlp.fc1',
    'mlp.fc2': 'mlp.fc2'
}
_T, _V = 'text_encoder.', 'vision_backbone.'
_FIXED_HF2MM = {
    'logit_scale': 'logit_scale',
    'logit_bias': 'logit_bias',
    'logit_scale_finegraind': 'logit_scale_region',
    'logit_scale_hardneg': 'logit_scale_hardneg',
    'text_model.embeddings.token_embedding.weight': _T + 'token_embedding.weight',
    'text_model.embeddings.position_embedding.weight': _T + 'pos_embed',
    'text_model.embeddings.position_embedding_ori.weight': _T + 'long_pos_ori',
    'text_model.embeddings.position_embedding_res.weight': _T + 'long_pos_res',
    'vision_model.embeddings.patch_embedding.weight': _V + 'patch_embed.weight',
    'vision_model.embeddings.patch_embedding.bias': _V + 'patch_embed.bias',
    'vision_model.embeddings.position_embedding.weight': _V + 'pos_embed',
}
for _p in ('weight', 'bias'):
    _FIXED_HF2MM.update({
        f'text_model.final_layer_norm.{_p}': f'{_T}ln_final.{_p}',
        f'text_model.head.{_p}': f'{_T}head.{_p}',
        f'boxtext_head.{_p}': f'{_T}boxtext_head.{_p}',
        f'longtext_head.{_p}': f'{_T}longtext_head.{_p}',
        f'vision_model.post_layernorm.{_p}': f'{_V}ln_post.{_p}'
    })
for _hf, _mm in _HEAD_HF2MM.items():
    _FIXED_HF2MM[f'vision_model.head.{_hf}'] = f'{_V}head.{_mm}'
    _FIXED_HF2MM[f'dense_feature_head.{_hf}'] = f'{_V}dense_head.{_mm}'
_FIXED_MM2HF = {v: k for k, v in _FIXED_HF2MM.items()}

_HF_LAYER = re.compile(r'^(text|vision)_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$')
_MM_LAYER = re.compile(r'^(text_encoder|vision_backbone)\.layers\.(\d+)\.(.+)\.(weight|bias)$')
_TOWER_HF2MM = {'text': 'text_encoder', 'vision': 'vision_backbone'}
_TOWER_MM2HF = {v: k for k, v in _TOWER_HF2MM.items()}
_QKV = ('q_proj', 'k_proj', 'v_proj')


def hf_to_mm(state_dict: Dict[str, Tensor]) -> tuple:
    """Official FG-CLIP 2 (or SigLIP 2) keys -> ours.

    Args:
        state_dict (dict[str, Tensor]): Official state dict; not modified.

    Returns:
        tuple: ``(converted dict, list of official keys that were not recognised)``.
    """
    out, unknown, qkv = {}, [], {}
    for key, value in state_dict.items():
        if key in _FIXED_HF2MM:
            out[_FIXED_HF2MM[key]] = value
            continue
        match = _HF_LAYER.match(key)
        if match is None:
            unknown.append(key)
            continue
        tower, idx, name, kind = match.groups()
        prefix = f'{_TOWER_HF2MM[tower]}.layers.{idx}.'
        proj = name.split('.')[-1]
        if name.startswith('self_attn.') and proj in _QKV:
            qkv.setdefault((prefix, kind), {})[proj] = value
        elif name in _LAYER_HF2MM:
            out[f'{prefix}{_LAYER_HF2MM[name]}.{kind}'] = value
        else:
            unknown.append(key)
    for (prefix, kind), parts in qkv.items():
        if set(parts) != set(_QKV):
            raise ValueError(f'incomplete q/k/v projections for {prefix}attn ({kind}): '
                             f'found {sorted(parts)}')
        out[f'{prefix}attn.qkv.{kind}'] = torch.cat([parts[p] for p in _QKV], dim=0)
    return out, unknown


def mm_to_hf(state_dict: Dict[str, Tensor], with_extras: bool = True) -> tuple:
    """Our keys -> the official FG-CLIP 2 layout (inverse of :func:`hf_to_mm`).

    Args:
        state_dict (dict[str, Tensor]): Our state dict; not modified.
        with_extras (bool): Keep ``logit_scale_finegraind`` / ``logit_scale_hardneg`` (the
            official inference model ignores them). Defaults to True.

    Returns:
        tuple: ``(converted dict, list of our keys that were not recognised)``.
    """
    out, unknown = {}, []
    for key, value in state_dict.items():
        if key in _FIXED_MM2HF:
            hf_key = _FIXED_MM2HF[key]
            if with_extras or hf_key not in ('logit_scale_finegraind', 'logit_scale_hardneg'):
                out[hf_key] = value
            continue
        match = _MM_LAYER.match(key)
        if match is None:
            unknown.append(key)
            continue
        tower, idx, name, kind = match.groups()
        prefix = f'{_TOWER_MM2HF[tower]}_model.encoder.layers.{idx}.'
        if name == 'attn.qkv':
            for proj, part in zip(_QKV, value.chunk(3, dim=0)):
                out[f'{prefix}self_attn.{proj}.{kind}'] = part.clone()
            continue
        hf_name = {v: k for k, v in _LAYER_HF2MM.items()}.get(name)
        if hf_name is None:
            unknown.append(key)
        else:
            out[f'{prefix}{hf_name}.{kind}'] = value
    return out, unknown


# --------------------------------------------------------------------------------- configs
_VISION_KEYS = dict(
    embed_dims='hidden_size',
    mlp_dims='intermediate_size',
    num_layers='num_hidden_layers',
    num_heads='num_attention_heads',
    num_patches='num_patches',
    patch_size='patch_size',
    in_channels='num_channels',
    layer_norm_eps='layer_norm_eps',
    hidden_act='hidden_act')
_TEXT_KEYS = dict(
    embed_dims='hidden_size',
    mlp_dims='intermediate_size',
    num_layers='num_hidden_layers',
    num_heads='num_attention_heads',
    vocab_size='vocab_size',
    max_len='max_position_embeddings',
    proj_dims='projection_size',
    keep_len='keep_len',
    long_len='longtext_len',
    layer_norm_eps='layer_norm_eps',
    hidden_act='hidden_act')


def hf_config_to_arch(config: dict) -> dict:
    """Read our arch dict from an official ``config.json`` (FG-CLIP 2 or SigLIP 2).

    Missing optional fields take the SigLIP 2 defaults (e.g. ``keep_len`` 20, ``longtext_len``
    196, ``num_patches`` 256); missing size fields raise, and every value is checked
    (integers within sane bounds, heads dividing the width, see
    :func:`~fgclip2_mm.models.utils.arch_zoo.vision_arch`) with the config.json key in the
    message (``vision_config.num_attention_heads=-4 is out of range ...``).

    Args:
        config (dict): Parsed ``config.json`` with ``text_config`` and ``vision_config``.

    Returns:
        dict: A complete arch dict (see :func:`fgclip2_mm.models.utils.arch_zoo.get_arch`).
    """
    if not isinstance(config, dict):
        raise ValueError(f'config.json must hold a JSON object, got {type(config).__name__}')
    parts, names = {}, {}
    for part, keys in (('vision', _VISION_KEYS), ('text', _TEXT_KEYS)):
        sub = config.get(f'{part}_config')
        if not isinstance(sub, dict):
            raise ValueError(f'config.json has no "{part}_config" section')
        parts[part] = {
            ours: sub[theirs]
            for ours, theirs in keys.items() if sub.get(theirs) is not None
        }
        names[part] = {ours: f'{part}_config.{theirs}' for ours, theirs in keys.items()}
    top_proj = config.get('projection_size')
    if top_proj is not None and 'proj_dims' not in parts['text']:
        parts['text']['proj_dims'] = top_proj
        names['text']['proj_dims'] = 'projection_size'
    patch = parts['vision'].get('patch_size')
    if isinstance(patch, (list, tuple)):
        if len(set(patch)) != 1:
            raise ValueError(f'vision_config.patch_size={patch}: non-square patches are not '
                             'supported')
        parts['vision']['patch_size'] = patch[0]
    return get_arch(parts, names)


def arch_to_hf_config(arch: dict, base: Optional[dict] = None) -> dict:
    """Write an official-layout ``config.json`` dict for ``arch``.

    Args:
        arch (dict): Our arch dict (completed with :func:`get_arch`).
        base (dict, optional): An official config to start from (e.g. the one of the folder
            the weights came from): its other fields (``auto_map``, token ids, dtype, ...)
            are kept and the size fields are overwritten. Defaults to None.

    Returns:
        dict: The config, modelled on ``Siglip2Config.to_dict()`` with ``model_type``
        ``'fgclip2'`` and the FG-CLIP 2 text extras ``keep_len`` / ``longtext_len``.
    """
    arch = get_arch(arch)
    cfg = copy.deepcopy(base) if base else {}
    cfg.setdefault('architectures', ['Fgclip2Model'])
    cfg.setdefault('model_type', 'fgclip2')
    cfg.setdefault('initializer_factor', 1.0)
    text = dict(cfg.get('text_config') or {})
    vision = dict(cfg.get('vision_config') or {})
    text.setdefault('model_type', 'fgclip2_text_model')
    vision.setdefault('model_type', 'fgclip2_vision_model')
    text.setdefault('attention_dropout', 0.0)
    vision.setdefault('attention_dropout', 0.0)
    text.update({theirs: arch['text'][ours] for ours, theirs in _TEXT_KEYS.items()})
    vision.update({theirs: arch['vision'][ours] for ours, theirs in _VISION_KEYS.items()})
    vision.setdefault('vision_use_head', True)
    cfg['text_config'], cfg['vision_config'] = text, vision
    if not base or 'projection_size' in cfg:  # keep a base config's own layout
        cfg['projection_size'] = arch['text']['proj_dims']
    return cfg
