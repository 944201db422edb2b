"""Test helpers (like ``mmseg.testing``): a tiny FG-CLIP 2 checkpoint, a small synthetic
world shared by the tests of one process, and tiny segmentor configs. Nothing is
downloaded."""
import copy
from typing import Optional

from fgclip2_mm.testing import synthetic_world, write_tiny_checkpoint  # noqa: F401

SYNTHETIC_TEMPLATES = dict(en='synthetic_size_en', zh='synthetic_size_zh')
TINY_HEAD = dict(embed_dims=16, guidance_dims=8, text_guidance_dims=8, num_blocks=1,
                 decoder_dims=(8, ), decoder_guidance_dims=(8, ))
#: A CPU-sized :class:`FGCLIP2CATSegHead` (CAT-Seg's aggregator, two stages, pad_len 8).
TINY_CATSEG_HEAD = dict(type='fgclip2_mm.FGCLIP2CATSegHead', text_guidance_dims=8,
                        guidance_dims=8, decoder_dims=(16, 8), guidance_channels=(8, 8),
                        decoder_guidance_dims=(4, 4), num_blocks=1, num_heads=2,
                        embed_dims=16, window_size=4, pad_len=8)


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
