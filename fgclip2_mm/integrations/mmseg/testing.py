"""Test helpers (like ``mmseg.testing``): a tiny FG-CLIP 2 checkpoint, a small synthetic
world shared by the tests of one process, and tiny segmentor configs. Nothing is
downloaded."""
import copy
import os.path as osp
import shutil
from typing import Dict, Optional

import torch

TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')
SYNTHETIC_TEMPLATES = dict(en='synthetic_en', zh='synthetic_zh')
TINY_HEAD = dict(embed_dims=16, guidance_dims=8, text_guidance_dims=8, num_blocks=1,
                 decoder_dims=(8, ), decoder_guidance_dims=(8, ))
_WORLDS: Dict[str, str] = {}


def write_tiny_checkpoint(folder: str, tokenizer_dir: str, seed: int = 0) -> str:
    """Save a random ``FGCLIP2(arch='tiny')`` (our folder layout) with the tokenizer files.

    Args:
        folder (str): Output folder (created).
        tokenizer_dir (str): A tokenizer folder whose vocabulary fits the tiny arch (1024
            ids), e.g. a synthetic world's ``tokenizer/``.
        seed (int): Weight seed. Defaults to 0.

    Returns:
        str: ``folder``.
    """
    from fgclip2_mm.apis import save_fgclip2
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(seed)
    save_fgclip2(FGCLIP2(arch='tiny'), folder)
    for name in TOKENIZER_FILES:
        if osp.isfile(osp.join(tokenizer_dir, name)):
            shutil.copyfile(osp.join(tokenizer_dir, name), osp.join(folder, name))
    return folder


def synthetic_world(root: str, num_train: int = 24, num_val: int = 16, seed: int = 0) -> str:
    """Generate a small synthetic world under ``root`` once per process and return its
    folder (later calls with the same arguments reuse it)."""
    from fgclip2_mm.datasets.synthetic import generate_world
    key = f'{root}|{num_train}|{num_val}|{seed}'
    if key not in _WORLDS:
        out = osp.join(root, f'world_{num_train}_{num_val}_{seed}')
        if not osp.isfile(osp.join(out, 'world_meta.json')):
            generate_world(out, seed=seed, num_train=num_train, num_val=num_val, workers=1)
        _WORLDS[key] = out
    return _WORLDS[key]


def tiny_segmentor_cfg(checkpoint: str,
                       trained: bool = False,
                       cache_dir: Optional[str] = None,
                       **overrides) -> dict:
    """Config of a CPU-sized FG-CLIP 2 segmentor on the synthetic vocabulary.

    Args:
        checkpoint (str): A tiny FG-CLIP 2 folder (see :func:`write_tiny_checkpoint`).
        trained (bool): :class:`FGCLIP2CATSegmentor` with a tiny head instead of the
            training-free segmentor. Defaults to False.
        cache_dir (str, optional): Text-embedding cache (False: memory only).
        **overrides: Top-level keys replacing the defaults.
    """
    cfg = dict(
        type='fgclip2_mm.FGCLIP2CATSegmentor' if trained else
        'fgclip2_mm.FGCLIP2TrainingFreeSegmentor',
        clip=checkpoint,
        vocabulary=dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'),
        templates=dict(SYNTHETIC_TEMPLATES),
        cache_dir=False if cache_dir is None else cache_dir,
        patch_budget=64)
    if trained:
        cfg['decode_head'] = dict(TINY_HEAD)
    cfg.update(copy.deepcopy(overrides))
    return cfg
