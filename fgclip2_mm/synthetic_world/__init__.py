"""Seeded generator of a synthetic bilingual (English + Chinese) world of shapes.

The world replaces the real datasets in demos, tests and CI: images, FineHARD records,
Chinese pairs, COCO instances (base/novel), seg maps, retrieval lists, classification
lists, FG-OVD files and a tiny Gemma-layout tokenizer, all in the real formats. Use
:func:`generate_world` or ``tools/generate_synthetic_world.py``. A world is generated with
a named profile (:mod:`.profiles`: ``legacy``, ``calibrated``); its classes, open-vocabulary
split and Chinese names are read back from its ``world_meta.json`` with
:func:`read_world_meta` (the module-level class lists below describe the legacy world).
"""
from .generate import GENERATOR_VERSION, generate_world
from .negatives import changed_attributes
from .phrases import parse_short_expression, short_expression_en, short_expression_zh
from .profiles import DEFAULT_PROFILE, LEGACY_PROFILE, PROFILES, WorldProfile, get_profile
from .scene import Attributes
from .vocabulary import (BACKGROUNDS, BASE_CLASSES, CATEGORY_NAMES, CATEGORY_NAMES_ZH,
                         COLOUR_NAMES, COLOURS, DETECTION_METAINFO, NOVEL_CLASSES,
                         PATTERN_NAMES, PATTERNS, SEGMENTATION_METAINFO, SHAPES, SIZE_NAMES,
                         SIZES, TEXTURES, category_id)
from .world_info import (detection_metainfo, profile_name, read_world_meta,
                         segmentation_metainfo)

__all__ = [
    'generate_world', 'GENERATOR_VERSION', 'Attributes', 'parse_short_expression',
    'short_expression_en', 'short_expression_zh', 'changed_attributes', 'SHAPES', 'COLOURS',
    'PATTERNS', 'SIZES', 'BACKGROUNDS', 'TEXTURES', 'CATEGORY_NAMES', 'CATEGORY_NAMES_ZH',
    'BASE_CLASSES', 'NOVEL_CLASSES', 'COLOUR_NAMES', 'PATTERN_NAMES', 'SIZE_NAMES',
    'DETECTION_METAINFO', 'SEGMENTATION_METAINFO', 'category_id', 'PROFILES', 'WorldProfile',
    'get_profile', 'DEFAULT_PROFILE', 'LEGACY_PROFILE', 'read_world_meta', 'profile_name',
    'detection_metainfo', 'segmentation_metainfo'
]
