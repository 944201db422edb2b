"""Load, save and convert FG-CLIP 2 checkpoint folders (safetensors only, never pickle).

Reading a folder (ours, official FG-CLIP 2, SigLIP 2 NaFlex) into our layout is
:mod:`fgclip2_mm.models.utils.checkpoint_folder`; this module adds the user-facing
:func:`load_fgclip2` / :func:`save_fgclip2` and the layout converters behind
``tools/model_converters/``. Our layout: ``fgclip2_mm_config.json`` (``{"format":
"fgclip2_mm", "model": {...config of FGCLIP2...}, "hf_config": {...}}``) and
``fgclip2_mm.safetensors`` with our keys, plus the tokenizer files.
"""
import copy
import json
import os
import shutil
from typing import Optional

import torch
from safetensors.torch import save_file

from fgclip2_mm.models.utils.checkpoint_folder import (HF_CONFIG, HF_INDEX, HF_WEIGHTS,
                                                       OPTIONAL_KEYS, OUR_CONFIG, OUR_WEIGHTS,
                                                       SIGLIP2_DERIVED_PREFIXES,
                                                       check_state_keys, folder_kind,
                                                       hf_folder_to_mm, read_checkpoint_folder,
                                                       read_hf_folder, read_mm_folder)
from fgclip2_mm.models.utils.ckpt_convert import arch_to_hf_config, mm_to_hf
from fgclip2_mm.models.vlms.build_from_folder import (build_fgclip2_from_folder,
                                                      expected_state_shapes)

#: Copied alongside the weights by the converters (when present).
PASSTHROUGH_FILES = ('tokenizer.json', 'tokenizer.model', 'tokenizer_config.json',
                     'special_tokens_map.json', 'added_tokens.json', 'preprocessor_config.json')
# Re-exported for the converters in tools/ (they live in checkpoint_folder).
__all__ = [
    'load_fgclip2', 'save_fgclip2', 'convert_hf_folder', 'convert_mm_folder', 'folder_kind',
    'read_hf_folder', 'read_mm_folder', 'hf_folder_to_mm', 'HF_CONFIG', 'HF_INDEX',
    'HF_WEIGHTS', 'OUR_CONFIG', 'OUR_WEIGHTS', 'OPTIONAL_KEYS', 'SIGLIP2_DERIVED_PREFIXES',
    'PASSTHROUGH_FILES'
]


def _write_json(obj: dict, path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write('\n')


def _copy_passthrough(src: str, dst: str) -> list:
    copied = []
    for name in PASSTHROUGH_FILES:
        if os.path.isfile(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
            copied.append(name)
    return copied


def convert_hf_folder(src: str, dst: str) -> list:
    """Official folder -> our folder (weights + :data:`OUR_CONFIG` + tokenizer files).

    Returns:
        list[str]: The passthrough files copied.
    """
    if folder_kind(src) != 'hf':
        raise ValueError(f'{src!r} is not a Hugging Face FG-CLIP 2 folder ({HF_CONFIG})')
    folder = read_checkpoint_folder(src)  # a SigLIP 2 folder gets its extras here
    check_state_keys(folder.state, expected_state_shapes(folder.arch))
    os.makedirs(dst, exist_ok=True)
    save_file(folder.state, os.path.join(dst, OUR_WEIGHTS), metadata={'format': 'pt'})
    _write_json(folder.meta, os.path.join(dst, OUR_CONFIG))
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
    model = build_fgclip2_from_folder(os.fspath(path), attn_impl=attn_impl)
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
