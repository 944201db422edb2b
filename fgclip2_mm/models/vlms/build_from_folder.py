"""Build :class:`FGCLIP2` from a checkpoint folder (any layout of
:mod:`fgclip2_mm.models.utils.checkpoint_folder`), strictly."""
import copy
import os
from typing import Dict

import torch

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.build import build_owned
from ..utils.arch_zoo import get_arch
from ..utils.checkpoint_folder import (load_folder_into, read_checkpoint_folder,
                                       read_folder_config)
from .fgclip2 import FGCLIP2

TOWERS = (('vision_backbone', 'FGCLIP2VisionTransformer', 'vision'),
          ('text_encoder', 'FGCLIP2TextEncoder', 'text'))


def expected_state_shapes(arch: dict) -> Dict[str, tuple]:
    """Key -> shape of the state dict of ``FGCLIP2(arch=arch)`` (built on the meta device:
    no memory, no init)."""
    with torch.device('meta'):
        model = FGCLIP2(arch=get_arch(arch))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def merge_folder_arch(model_cfg: dict, path: str) -> dict:
    """``model_cfg`` with the architecture of a checkpoint folder (a new dict).

    Everything else the config sets (data preprocessor and its ``pad_to``, losses, frozen
    parameters, attention implementation of the towers, ...) is kept; only ``arch`` and the
    ``arch`` of explicit ``vision_backbone`` / ``text_encoder`` configs become the folder's.
    Only the folder's config file is read (no weights).

    Args:
        model_cfg (dict): An ``FGCLIP2`` (or subclass) model config.
        path (str): A checkpoint folder of any layout.

    Returns:
        dict: The merged config.

    Raises:
        ValueError: ``model_cfg`` does not build an FGCLIP2 (its type named), or ``path`` is
            not a checkpoint folder.
    """
    cfg = copy.deepcopy(dict(model_cfg))
    kind = cfg.get('type')
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, FGCLIP2)):
        raise ValueError(f'a checkpoint folder ({path!r}) sets the architecture of an FGCLIP2 '
                         f'model, but the config\'s model.type is {kind!r}')
    _, _, arch = read_folder_config(os.fspath(path))
    cfg['arch'] = arch
    for key, _, part in TOWERS:
        if isinstance(cfg.get(key), dict):
            cfg[key] = dict(cfg[key], arch=copy.deepcopy(arch[part]))
    return cfg


def build_fgclip2_from_folder(path: str, attn_impl: str = 'sdpa') -> FGCLIP2:
    """The model a checkpoint folder describes, with its weights.

    Args:
        path (str): Our folder, an official FG-CLIP 2 folder or a SigLIP 2 NaFlex folder
            (its FG-CLIP 2 extras derived).
        attn_impl (str): ``'sdpa'`` or ``'eager'`` for both towers. Defaults to ``'sdpa'``.

    Returns:
        FGCLIP2: fp32 on the CPU, in train mode as built.

    Raises:
        ValueError: Not a checkpoint folder; missing, unexpected or mis-shaped keys (listed).
    """
    folder = read_checkpoint_folder(os.fspath(path))
    model_cfg = copy.deepcopy(folder.meta['model'])
    for key, tower, part in TOWERS:
        sub = model_cfg.get(key) or dict(type=tower, arch=folder.arch[part])
        model_cfg[key] = dict(sub, attn_impl=attn_impl)
    model = build_owned(model_cfg, MODELS)
    load_folder_into(model, folder)
    return model
