"""Load and convert FG-CLIP 2 checkpoints (safetensors only, never pickle).

Two folder layouts are understood:

* **official** (Hugging Face): ``config.json`` (``model_type`` ``fgclip2``; ``siglip2`` is
  accepted too and completed with :meth:`FGCLIP2.init_from_siglip2`), ``model.safetensors``
  (or sharded with ``model.safetensors.index.json``), tokenizer files;
* **ours**: ``fgclip2_mm_config.json`` (``{"format": "fgclip2_mm", "model": {...config of
  FGCLIP2...}, "hf_config": {...}}``) and ``fgclip2_mm.safetensors`` with our keys, plus the
  same tokenizer files.
"""
import copy
import json
import os
import shutil
from typing import Dict, Optional, Tuple

import torch
from mmengine.logging import MMLogger
from safetensors.torch import load_file, save_file

from fgclip2_mm.models.utils.arch_zoo import get_arch
from fgclip2_mm.models.utils.ckpt_convert import (arch_to_hf_config, hf_config_to_arch, hf_to_mm,
                                                  mm_to_hf)
from fgclip2_mm.models.utils.model_config import read_model_config

OUR_CONFIG = 'fgclip2_mm_config.json'
OUR_WEIGHTS = 'fgclip2_mm.safetensors'
HF_CONFIG = 'config.json'
HF_WEIGHTS = 'model.safetensors'
HF_INDEX = 'model.safetensors.index.json'
#: Copied alongside the weights by the converters (when present).
PASSTHROUGH_FILES = ('tokenizer.json', 'tokenizer.model', 'tokenizer_config.json',
                     'special_tokens_map.json', 'added_tokens.json', 'preprocessor_config.json')
#: Our keys an official checkpoint may lack: they keep their initial value.
OPTIONAL_KEYS = ('logit_scale_region', 'logit_scale_hardneg')
#: Keys derived by ``init_from_siglip2`` when a SigLIP 2 checkpoint is loaded.
SIGLIP2_DERIVED_PREFIXES = ('text_encoder.long_pos_', 'text_encoder.boxtext_head.',
                            'text_encoder.longtext_head.', 'vision_backbone.dense_head.')

StateDict = Dict[str, torch.Tensor]


def _read_json(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write_json(obj: dict, path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write('\n')


def folder_kind(path: str) -> str:
    """``'mm'`` or ``'hf'`` for a checkpoint folder; ValueError otherwise."""
    if not os.path.isdir(path):
        raise ValueError(f'{path!r} is not a folder (expected an FG-CLIP 2 checkpoint folder)')
    if os.path.isfile(os.path.join(path, OUR_CONFIG)):
        return 'mm'
    if os.path.isfile(os.path.join(path, HF_CONFIG)):
        return 'hf'
    raise ValueError(f'{path!r} holds neither {OUR_CONFIG} (fgclip2_mm layout) nor '
                     f'{HF_CONFIG} (Hugging Face layout)')


def read_hf_folder(path: str) -> Tuple[dict, StateDict]:
    """Read an official folder: ``(config.json dict, state dict with official keys)``."""
    config, _ = read_model_config(os.path.join(path, HF_CONFIG), 'hf')  # validated
    single, index = os.path.join(path, HF_WEIGHTS), os.path.join(path, HF_INDEX)
    if os.path.isfile(single):
        return config, load_file(single)
    if os.path.isfile(index):
        shards = sorted(set(_read_json(index)['weight_map'].values()))
        state = {}
        for shard in shards:
            state.update(load_file(os.path.join(path, shard)))
        return config, state
    raise ValueError(f'{path!r} has no {HF_WEIGHTS} nor {HF_INDEX} (only safetensors '
                     'checkpoints are supported)')


def read_mm_folder(path: str) -> Tuple[dict, StateDict]:
    """Read our folder: ``(fgclip2_mm_config.json dict, state dict with our keys)``."""
    meta, _ = read_model_config(os.path.join(path, OUR_CONFIG), 'mm')  # validated
    weights = os.path.join(path, OUR_WEIGHTS)
    if not os.path.isfile(weights):
        raise ValueError(f'{path!r} has no {OUR_WEIGHTS}')
    return meta, load_file(weights)


def _copy_passthrough(src: str, dst: str) -> list:
    copied = []
    for name in PASSTHROUGH_FILES:
        if os.path.isfile(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
            copied.append(name)
    return copied


def hf_folder_to_mm(state: StateDict, config: dict) -> Tuple[dict, StateDict]:
    """Official config + state dict -> our meta dict + state dict (pure, no model built).

    Raises:
        ValueError: Unrecognised official keys (``*.position_ids`` buffers are dropped).
    """
    state = {k: v for k, v in state.items() if not k.endswith('position_ids')}
    converted, unknown = hf_to_mm(state)
    if unknown:
        raise ValueError(f'unrecognised keys in the official checkpoint: {sorted(unknown)}')
    arch = hf_config_to_arch(config)
    meta = dict(
        format='fgclip2_mm',
        format_version=1,
        model=dict(type='FGCLIP2', arch=arch),
        hf_config=copy.deepcopy(config))
    return meta, converted


def convert_hf_folder(src: str, dst: str) -> list:
    """Official folder -> our folder (weights + :data:`OUR_CONFIG` + tokenizer files).

    Returns:
        list[str]: The passthrough files copied.
    """
    if folder_kind(src) != 'hf':
        raise ValueError(f'{src!r} is not a Hugging Face FG-CLIP 2 folder ({HF_CONFIG})')
    config, state = read_hf_folder(src)
    meta, converted = hf_folder_to_mm(state, config)
    check_keys(converted, meta['model']['arch'], siglip2=config['model_type'] == 'siglip2')
    os.makedirs(dst, exist_ok=True)
    save_file(converted, os.path.join(dst, OUR_WEIGHTS), metadata={'format': 'pt'})
    _write_json(meta, os.path.join(dst, OUR_CONFIG))
    return _copy_passthrough(src, dst)


def convert_mm_folder(src: str, dst: str, with_extras: bool = True) -> list:
    """Our folder -> official folder (``config.json`` + ``model.safetensors`` + tokenizer).

    Args:
        src (str): Our checkpoint folder.
        dst (str): Output folder.
        with_extras (bool): Also write ``logit_scale_finegraind`` / ``logit_scale_hardneg``.

    Returns:
        list[str]: The passthrough files copied.
    """
    if folder_kind(src) != 'mm':
        raise ValueError(f'{src!r} is not an fgclip2_mm checkpoint folder ({OUR_CONFIG})')
    meta, state = read_mm_folder(src)
    converted, unknown = mm_to_hf(state, with_extras=with_extras)
    if unknown:
        raise ValueError(f'unrecognised keys in the fgclip2_mm checkpoint: {sorted(unknown)}')
    config = arch_to_hf_config(meta['model']['arch'], base=meta.get('hf_config'))
    config['model_type'] = 'fgclip2'
    os.makedirs(dst, exist_ok=True)
    save_file(converted, os.path.join(dst, HF_WEIGHTS), metadata={'format': 'pt'})
    _write_json(config, os.path.join(dst, HF_CONFIG))
    return _copy_passthrough(src, dst)


def _expected_shapes(arch: dict) -> Dict[str, tuple]:
    from fgclip2_mm.models.vlms.fgclip2 import FGCLIP2  # avoid an import cycle
    with torch.device('meta'):
        model = FGCLIP2(arch=get_arch(arch))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_keys(state: StateDict, arch: dict, siglip2: bool = False) -> list:
    """Compare our-layout ``state`` with the keys/shapes a model of ``arch`` has.

    Args:
        state (dict[str, Tensor]): Our-layout state dict.
        arch (dict): Arch dict.
        siglip2 (bool): Allow the FG-CLIP 2 extras to be missing (SigLIP 2 checkpoint).

    Returns:
        list[str]: Missing keys that are allowed (optional scales, SigLIP 2 extras).

    Raises:
        ValueError: Missing, unexpected or mis-shaped keys, all listed in one message.
    """
    expected = _expected_shapes(arch)
    missing = sorted(set(expected) - set(state))
    allowed = [
        k for k in missing
        if k in OPTIONAL_KEYS or (siglip2 and k.startswith(SIGLIP2_DERIVED_PREFIXES))
    ]
    problems = []
    if set(missing) - set(allowed):
        problems.append(f'missing keys {sorted(set(missing) - set(allowed))}')
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        problems.append(f'unexpected keys {unexpected}')
    mismatched = [
        f'{k}: {tuple(state[k].shape)} vs {expected[k]}' for k in sorted(state) if k in expected
        and tuple(state[k].shape) != expected[k] and not k.endswith('vision_backbone.pos_embed')
    ]  # resized on load
    if mismatched:
        problems.append(f'shape mismatches {mismatched}')
    if problems:
        raise ValueError('checkpoint does not match the architecture: ' + '; '.join(problems))
    return allowed


def load_fgclip2(path: str,
                 device: str = 'cpu',
                 dtype: Optional[torch.dtype] = None,
                 attn_impl: str = 'sdpa'):
    """Build :class:`FGCLIP2` from a checkpoint folder (official or ours), strictly.

    Args:
        path (str): Checkpoint folder (see the module docstring).
        device (str | torch.device): Target device. Defaults to ``'cpu'``.
        dtype (torch.dtype, optional): Cast the model to this dtype (default: fp32, whatever
            the stored dtype).
        attn_impl (str): ``'sdpa'`` or ``'eager'`` for both towers. Defaults to ``'sdpa'``.

    Returns:
        FGCLIP2: The model in eval mode, weights in our layout.

    Raises:
        ValueError: Not a checkpoint folder, unknown/missing/mis-shaped keys (listed).
    """
    from fgclip2_mm.registry import MODELS
    from fgclip2_mm.utils.build import build_owned
    import fgclip2_mm.models  # noqa: F401  (registration)
    path = os.fspath(path)
    kind = folder_kind(path)
    siglip2 = False
    if kind == 'hf':
        config, state = read_hf_folder(path)
        meta, state = hf_folder_to_mm(state, config)
        siglip2 = config['model_type'] == 'siglip2'
    else:
        meta, state = read_mm_folder(path)
    model_cfg = copy.deepcopy(meta['model'])
    arch = get_arch(model_cfg.get('arch', 'base'))
    allowed = check_keys(state, arch, siglip2=siglip2)
    for key, tower, part in (('vision_backbone', 'FGCLIP2VisionTransformer', 'vision'),
                             ('text_encoder', 'FGCLIP2TextEncoder', 'text')):
        sub = model_cfg.get(key) or dict(type=tower, arch=arch[part])
        model_cfg[key] = dict(sub, attn_impl=attn_impl)
    model = build_owned(model_cfg, MODELS)
    result = model.load_state_dict(state, strict=False)
    if sorted(result.missing_keys) != sorted(allowed) or result.unexpected_keys:
        raise ValueError(f'loading {path!r}: missing keys {result.missing_keys}, unexpected '
                         f'keys {result.unexpected_keys}')
    logger = MMLogger.get_current_instance()
    if siglip2:
        model.init_from_siglip2()
        logger.info(f'{path}: SigLIP 2 checkpoint; derived the FG-CLIP 2 extras')
    if allowed:
        logger.info(f'{path}: kept the initial values of {allowed}')
    model.to(device=device, dtype=dtype)
    return model.eval()


def save_fgclip2(model, out_dir: str, hf_config: Optional[dict] = None) -> None:
    """Write ``model`` as our folder (:data:`OUR_CONFIG` + :data:`OUR_WEIGHTS`).

    Args:
        model (FGCLIP2): The model.
        out_dir (str): Output folder (created).
        hf_config (dict, optional): Official ``config.json`` to keep for re-export.
    """
    os.makedirs(out_dir, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out_dir, OUR_WEIGHTS), metadata={'format': 'pt'})
    meta = dict(
        format='fgclip2_mm', format_version=1, model=dict(type='FGCLIP2', arch=model.arch_dict()))
    if hf_config is not None:
        meta['hf_config'] = copy.deepcopy(hf_config)
    _write_json(meta, os.path.join(out_dir, OUR_CONFIG))
