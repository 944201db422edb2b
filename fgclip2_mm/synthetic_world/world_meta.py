"""Content of ``world_meta.json``: what was generated, with which vocabulary and files.

No timings and no absolute paths go in here, so that the file is byte-identical for the
same seed wherever the world is generated.
"""
import os
import os.path as osp
from typing import Dict, List

from .profiles import WorldProfile
from .statistics import COMMON_MAX_IMAGE_SHARE, RARE_MAX_IMAGE_SHARE
from .tokenizer import TOKENIZER_CLASS
from .vocabulary import BACKGROUNDS, COLOURS, PATTERNS, TEXTURES

_IMAGE_DIRS = ('images/train', 'images/val', 'images/cls_train', 'images/cls_val',
               'seg_maps/train', 'seg_maps/val')


def _vocabulary(profile: WorldProfile) -> Dict:
    return {
        'colours': [{'name': c.name, 'name_zh': c.name_zh, 'rgb': list(c.rgb)} for c in COLOURS],
        'patterns': [{'name': p.name, 'name_zh': p.name_zh} for p in PATTERNS],
        'sizes': [{'name': s.name, 'adjective': s.adjective, 'name_zh': s.name_zh,
                   'min_share_of_short_side': s.min_frac,
                   'max_share_of_short_side': s.max_frac} for s in profile.sizes],
        'backgrounds': [{'name': b.name, 'name_zh': b.name_zh, 'rgb': list(b.rgb)}
                        for b in BACKGROUNDS],
        'textures': [{'name': t.name, 'phrase': t.phrase, 'phrase_zh': t.phrase_zh}
                     for t in TEXTURES],
    }


def world_meta(out_dir: str, seed: int, version: str, profile: WorldProfile,
               num_images: Dict[str, int],
               num_objects: Dict[str, int], categories: List[dict], files: List[str],
               tokenizer_vocab_size: int) -> Dict:
    """Assemble the world description.

    Args:
        out_dir (str): World root; file paths are stored relative to it.
        seed (int): World seed.
        version (str): Generator version.
        profile (WorldProfile): The world's profile.
        num_images (dict[str, int]): Image counts per split (and classification split).
        num_objects (dict[str, int]): Object counts per split.
        categories (list[dict]): Output of :func:`~.statistics.category_table`.
        files (list[str]): Annotation and tokenizer files.
        tokenizer_vocab_size (int): Size of the trained tokenizer's vocabulary.

    Returns:
        dict: JSON-ready content of ``world_meta.json``.
    """
    relative = sorted(osp.relpath(p, out_dir).replace(os.sep, '/') for p in files)
    image_dirs = {d: len(os.listdir(osp.join(out_dir, d))) for d in _IMAGE_DIRS
                  if osp.isdir(osp.join(out_dir, d))}
    return {
        'generator': 'fgclip2_mm.synthetic_world',
        'generator_version': version,
        'seed': seed,
        'profile': profile.to_meta(),
        'num_train': num_images['train'],
        'num_val': num_images['val'],
        'num_images': num_images,
        'num_objects': num_objects,
        'num_categories': len(categories),
        'categories': categories,
        'classes': list(profile.category_names),
        'classes_zh': list(profile.category_names_zh),
        'base_classes': list(profile.base_classes),
        'novel_classes': list(profile.novel_classes),
        'frequency_rule': {'basis': 'share of train images containing the category',
                           'r': f'< {RARE_MAX_IMAGE_SHARE}',
                           'c': f'< {COMMON_MAX_IMAGE_SHARE}',
                           'f': f'>= {COMMON_MAX_IMAGE_SHARE}'},
        'vocabulary': _vocabulary(profile),
        'tokenizer': {'folder': 'tokenizer', 'tokenizer_class': TOKENIZER_CLASS,
                      'vocab_size': tokenizer_vocab_size,
                      'special_tokens': {'<pad>': 0, '<eos>': 1, '<bos>': 2, '<unk>': 3,
                                         '<mask>': 4}},
        'files': {'annotations': [p for p in relative if p.startswith('annotations/')],
                  'tokenizer': [p for p in relative if p.startswith('tokenizer/')],
                  'image_dirs': image_dirs},
    }
