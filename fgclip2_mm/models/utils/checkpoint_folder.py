"""Checkpoint folders -> (meta, state dict with our keys): the one reader of every layout.

Three layouts, told apart by their config file (safetensors only, never pickle):

* **ours** (``'fgclip2_mm'``): ``fgclip2_mm_config.json`` (``{"format": "fgclip2_mm",
  "model": {...config of FGCLIP2...}, "hf_config": {...}}``) + ``fgclip2_mm.safetensors``;
* **official FG-CLIP 2** (``'fgclip2'``): ``config.json`` with ``model_type`` ``fgclip2`` +
  ``model.safetensors`` (or shards listed in ``model.safetensors.index.json``);
* **SigLIP 2 NaFlex** (``'siglip2'``): the same files of a transformers ``Siglip2Model``
  (``model_type`` ``siglip2``, e.g. ``google/siglip2-base-patch16-naflex``). It lacks the
  FG-CLIP 2 extras; :func:`siglip2_extras` derives them here, for every caller, as the
  released recipe's ``--from_siglip2`` does (spec 4.2): the 64 -> 196 long-position
  stretch, the box / long text heads copied from the text head, the dense head copied from
  the MAP head.

Everything that reads weights from a folder goes through :func:`read_checkpoint_folder`:
``load_fgclip2``, the ``FGCLIP2Pretrained`` initializer and mmengine's own checkpoint
loading (``init_cfg=dict(type='Pretrained', checkpoint=FOLDER)``, ``load_from=FOLDER``: the
local ``CheckpointLoader`` scheme of :mod:`fgclip2_mm.engine.checkpoint` hands a folder to
:func:`load_checkpoint_folder`). Config reads are cached per file (path, mtime and size),
so the parts of one detector that need a folder's architecture read its config once.

Nothing here builds a model or imports a model class: a module is only ever passed in.
"""
import copy
import functools
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.logging import print_log
from safetensors.torch import load_file

from .ckpt_convert import hf_config_to_arch, hf_to_mm
from .model_config import read_model_config
from .pos_embed import stretch_text_pos_embed

OUR_CONFIG = 'fgclip2_mm_config.json'
OUR_WEIGHTS = 'fgclip2_mm.safetensors'
HF_CONFIG = 'config.json'
HF_WEIGHTS = 'model.safetensors'
HF_INDEX = 'model.safetensors.index.json'
LAYOUTS = ('fgclip2_mm', 'fgclip2', 'siglip2')
#: Our keys an official checkpoint may lack: they keep their initial value.
OPTIONAL_KEYS = ('logit_scale_region', 'logit_scale_hardneg')
#: Key prefixes of the model that no checkpoint holds (loss buffers, e.g. the CMR threshold).
NOT_IN_CHECKPOINTS = ('losses.', )
#: Keys :func:`siglip2_extras` derives (a SigLIP 2 checkpoint has none of them).
SIGLIP2_DERIVED_PREFIXES = ('text_encoder.long_pos_', 'text_encoder.boxtext_head.',
                            'text_encoder.longtext_head.', 'vision_backbone.dense_head.')

StateDict = Dict[str, torch.Tensor]


@dataclass
class CheckpointFolder:
    """One checkpoint folder read into our layout.

    Attributes:
        path (str): The folder.
        layout (str): ``'fgclip2_mm'``, ``'fgclip2'`` or ``'siglip2'``.
        meta (dict): Our config: ``model`` (an FGCLIP2 config with its complete ``arch``)
            and, for official folders, ``hf_config`` (the ``config.json``).
        arch (dict): The complete arch dict ``dict(vision=..., text=...)``.
        state (dict[str, Tensor]): Our keys; for ``'siglip2'`` including the derived ones.
        derived (list[str]): Keys derived by :func:`siglip2_extras` (empty otherwise).
    """
    path: str
    layout: str
    meta: dict
    arch: dict
    state: StateDict = field(repr=False)
    derived: List[str] = field(default_factory=list)


def folder_kind(path: str) -> str:
    """``'mm'`` (our config file) or ``'hf'`` (``config.json``); ValueError otherwise."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ValueError(f'{path!r} is not a folder (expected an FG-CLIP 2 checkpoint folder)')
    if os.path.isfile(os.path.join(path, OUR_CONFIG)):
        return 'mm'
    if os.path.isfile(os.path.join(path, HF_CONFIG)):
        return 'hf'
    raise ValueError(f'{path!r} holds neither {OUR_CONFIG} (fgclip2_mm layout) nor '
                     f'{HF_CONFIG} (Hugging Face layout)')


def _hf_meta(config: dict, arch: dict) -> dict:
    return dict(format='fgclip2_mm', format_version=1, model=dict(type='FGCLIP2', arch=arch),
                hf_config=copy.deepcopy(config))


@functools.lru_cache(maxsize=32)
def _read_config(path: str, signature: Tuple[int, int]) -> Tuple[str, dict, dict, dict]:
    """``(layout, meta, arch, raw config)`` of the folder's config file; ``signature``
    (mtime in ns, size) is part of the cache key only, so a rewritten file is read again."""
    del signature
    if folder_kind(path) == 'mm':
        meta, arch = read_model_config(os.path.join(path, OUR_CONFIG), 'mm')
        return 'fgclip2_mm', meta, arch, meta
    config, arch = read_model_config(os.path.join(path, HF_CONFIG), 'hf')
    return config['model_type'], _hf_meta(config, arch), arch, config


def _config_entry(path: str) -> Tuple[str, dict, dict, dict]:
    path = os.path.realpath(os.fspath(path))
    name = OUR_CONFIG if folder_kind(path) == 'mm' else HF_CONFIG
    stat = os.stat(os.path.join(path, name))
    return copy.deepcopy(_read_config(path, (stat.st_mtime_ns, stat.st_size)))


def read_folder_config(path: str) -> Tuple[str, dict, dict]:
    """The layout, our meta dict and the complete arch of a folder, from its config file
    only (no weights read; cached per file path, mtime and size; callers get copies).

    Raises:
        ValueError: Not a checkpoint folder, or an invalid config file (path and key named,
            see :func:`~fgclip2_mm.models.utils.model_config.read_model_config`).
    """
    layout, meta, arch, _ = _config_entry(path)
    return layout, meta, arch


def _load_weights(path: str, kind: str, device: str) -> StateDict:
    if kind == 'mm':
        weights = os.path.join(path, OUR_WEIGHTS)
        if not os.path.isfile(weights):
            raise ValueError(f'{path!r} has no {OUR_WEIGHTS}')
        return load_file(weights, device=device)
    single, index = os.path.join(path, HF_WEIGHTS), os.path.join(path, HF_INDEX)
    if os.path.isfile(single):
        return load_file(single, device=device)
    if os.path.isfile(index):
        with open(index, encoding='utf-8') as f:
            shards = sorted(set(json.load(f)['weight_map'].values()))
        state = {}
        for shard in shards:
            state.update(load_file(os.path.join(path, shard), device=device))
        return state
    raise ValueError(f'{path!r} has no {HF_WEIGHTS} nor {HF_INDEX} (only safetensors '
                     'checkpoints are supported)')


def read_hf_folder(path: str, device: str = 'cpu') -> Tuple[dict, StateDict]:
    """An official folder as stored: ``(config.json dict, state dict with official keys)``."""
    path = os.fspath(path)
    *_, config = _config_entry(path)
    return config, _load_weights(path, 'hf', device)


def read_mm_folder(path: str, device: str = 'cpu') -> Tuple[dict, StateDict]:
    """Our folder as stored: ``(fgclip2_mm_config.json dict, state dict with our keys)``."""
    path = os.fspath(path)
    _, meta, _, _ = _config_entry(path)
    return meta, _load_weights(path, 'mm', device)


def hf_folder_to_mm(state: StateDict, config: dict) -> Tuple[dict, StateDict]:
    """Official config + state dict -> our meta dict + state dict (renaming only; the
    SigLIP 2 extras are not derived here, see :func:`siglip2_extras`).

    Raises:
        ValueError: Unrecognised official keys (``*.position_ids`` buffers are dropped).
    """
    state = {k: v for k, v in state.items() if not k.endswith('position_ids')}
    converted, unknown = hf_to_mm(state)
    if unknown:
        raise ValueError(f'unrecognised keys in the official checkpoint: {sorted(unknown)}')
    return _hf_meta(config, hf_config_to_arch(config)), converted


def siglip2_extras(state: StateDict, arch: dict) -> StateDict:
    """The FG-CLIP 2 tensors a SigLIP 2 checkpoint lacks, derived from the ones it has.

    * ``text_encoder.long_pos_{ori,res}`` (``long_len``, D): the LongCLIP stretch of
      ``text_encoder.pos_embed`` (``max_len``, D) keeping ``keep_len`` rows (spec 1.3);
    * ``text_encoder.{boxtext,longtext}_head.*``: copies of ``text_encoder.head.*``, which
      must be a (D, D) projection;
    * ``vision_backbone.dense_head.*``: copies of the MAP head ``vision_backbone.head.*``.

    Args:
        state (dict[str, Tensor]): Our-layout state dict of a SigLIP 2 checkpoint.
        arch (dict): Its complete arch dict (for ``keep_len`` / ``long_len``).

    Returns:
        dict[str, Tensor]: The derived tensors only (new tensors, same dtype and device).

    Raises:
        ValueError: A source tensor is missing, or the text head is not (D, D).
    """
    text = arch['text']
    needed = ('text_encoder.pos_embed', 'text_encoder.head.weight', 'text_encoder.head.bias')
    absent = [k for k in needed if k not in state]
    if absent or not any(k.startswith('vision_backbone.head.') for k in state):
        raise ValueError(f'cannot derive the FG-CLIP 2 extras: the SigLIP 2 checkpoint lacks '
                         f'{absent or ["vision_backbone.head.*"]}')
    head_w = state['text_encoder.head.weight']
    if head_w.shape[0] != head_w.shape[1]:
        raise ValueError(f'cannot copy the text head {tuple(head_w.shape)} into the '
                         f'{head_w.shape[1]}x{head_w.shape[1]} box / long heads')
    table = stretch_text_pos_embed(state['text_encoder.pos_embed'], text['keep_len'],
                                   text['long_len'])
    out = {'text_encoder.long_pos_ori': table, 'text_encoder.long_pos_res': table.clone()}
    for walk in ('boxtext_head', 'longtext_head'):
        for part in ('weight', 'bias'):
            out[f'text_encoder.{walk}.{part}'] = state[f'text_encoder.head.{part}'].clone()
    for key, value in state.items():
        if key.startswith('vision_backbone.head.'):
            out['vision_backbone.dense_head.' + key[len('vision_backbone.head.'):]] = value.clone()
    return out


def read_checkpoint_folder(path: str, device: str = 'cpu') -> CheckpointFolder:
    """Read any checkpoint folder into our layout (SigLIP 2 extras derived).

    Args:
        path (str): The folder (see the module docstring for the layouts).
        device (str): Where the tensors are loaded. Defaults to ``'cpu'``.

    Returns:
        CheckpointFolder: Layout, meta, arch and the state dict with our keys.

    Raises:
        ValueError: Not a checkpoint folder, an invalid config, no weights file, or
            unrecognised official keys.
    """
    path = os.fspath(path)
    layout, meta, arch, raw = _config_entry(path)
    if layout == 'fgclip2_mm':
        return CheckpointFolder(path, layout, meta, arch, _load_weights(path, 'mm', device))
    _, state = hf_folder_to_mm(_load_weights(path, 'hf', device), raw)
    derived = []
    if layout == 'siglip2':
        extras = siglip2_extras(state, arch)
        state.update(extras)
        derived = sorted(extras)
        print_log(f'{path}: SigLIP 2 checkpoint; derived the FG-CLIP 2 extras (long-position '
                  'stretch, box / long text heads, dense head)', logger='current')
    return CheckpointFolder(path, layout, meta, arch, state, derived)


def check_state_keys(state: StateDict, expected: Dict[str, Sequence[int]],
                     optional: Sequence[str] = OPTIONAL_KEYS) -> List[str]:
    """Compare a state dict with the keys and shapes a model expects.

    Args:
        state (dict[str, Tensor]): Our-layout state dict.
        expected (dict[str, tuple]): Key -> shape of the model's own state dict.
        optional (Sequence[str]): Keys that may be missing (they keep their initial value).

    Returns:
        list[str]: The allowed missing keys (``optional`` ones and loss buffers).

    Raises:
        ValueError: Missing, unexpected or mis-shaped keys, all listed in one message (a
            vision position table of another size is not a mismatch: it is resized on load).
    """
    missing = sorted(set(expected) - set(state))
    allowed = [k for k in missing if k in optional or k.startswith(NOT_IN_CHECKPOINTS)]
    problems = []
    if set(missing) - set(allowed):
        problems.append(f'missing keys {sorted(set(missing) - set(allowed))}')
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        problems.append(f'unexpected keys {unexpected}')
    mismatched = [
        f'{k}: {tuple(state[k].shape)} vs {tuple(expected[k])}' for k in sorted(state)
        if k in expected and tuple(state[k].shape) != tuple(expected[k])
        and not k.endswith('vision_backbone.pos_embed')
    ]
    if mismatched:
        problems.append(f'shape mismatches {mismatched}')
    if problems:
        raise ValueError('checkpoint does not match the architecture: ' + '; '.join(problems))
    return allowed


def load_folder_into(module: torch.nn.Module, folder: CheckpointFolder,
                     prefix: str = '') -> List[str]:
    """Load a read folder (or its ``prefix`` part) into ``module``, strictly.

    Every key of ``module`` must come from the folder except :data:`OPTIONAL_KEYS` and the
    loss buffers; anything else missing, unexpected or mis-shaped raises.

    Args:
        module (nn.Module): An FGCLIP2, or the part of one that ``prefix`` names.
        folder (CheckpointFolder): From :func:`read_checkpoint_folder`.
        prefix (str): Load only the keys under this prefix, stripped (e.g.
            ``'vision_backbone.'`` for a vision tower alone). Defaults to ``''``.

    Returns:
        list[str]: The keys that kept their initial value.

    Raises:
        ValueError: The folder does not match the module (the folder path first).
    """
    state = {k[len(prefix):]: v for k, v in folder.state.items() if k.startswith(prefix)}
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    try:
        kept = check_state_keys(state, expected)
    except ValueError as err:
        raise ValueError(f'loading {folder.path!r}{f" ({prefix}*)" if prefix else ""}: '
                         f'{err}') from None
    module.load_state_dict(state, strict=False)
    print_log(f'loaded {len(state)} tensors from {folder.path} ({folder.layout}'
              + (f', {prefix}*)' if prefix else ')')
              + (f'; kept the initial values of {kept}' if kept else ''), logger='current')
    return kept


def load_checkpoint_folder(path: str, device: str = 'cpu') -> dict:
    """A folder as an mmengine checkpoint: ``{'state_dict': ..., 'meta': ...}``.

    This is what mmengine's ``load_checkpoint`` gets for a folder (``PretrainedInit``,
    ``Runner.load_from``, a ``prefix`` such as ``'vision_backbone.'`` included); it then
    loads the state dict non-strictly, logging missing and unexpected keys, as for a file.
    ``meta['fgclip2_mm']`` records the folder, its layout, its arch and the derived keys.
    """
    folder = read_checkpoint_folder(path, device=device)
    meta = dict(checkpoint_folder=folder.path, layout=folder.layout, arch=folder.arch,
                derived=folder.derived)
    return dict(state_dict=folder.state, meta=dict(fgclip2_mm=meta))


def clear_config_cache() -> None:
    """Forget every cached config read (they are also re-read when a file changes)."""
    _read_config.cache_clear()


__all__ = [
    'CheckpointFolder', 'folder_kind', 'read_folder_config', 'read_checkpoint_folder',
    'read_hf_folder', 'read_mm_folder', 'hf_folder_to_mm', 'siglip2_extras',
    'check_state_keys', 'load_folder_into', 'load_checkpoint_folder', 'clear_config_cache',
    'OUR_CONFIG', 'OUR_WEIGHTS', 'HF_CONFIG', 'HF_WEIGHTS', 'HF_INDEX', 'LAYOUTS',
    'OPTIONAL_KEYS', 'SIGLIP2_DERIVED_PREFIXES'
]
