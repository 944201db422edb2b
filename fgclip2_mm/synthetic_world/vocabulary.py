"""Vocabulary of the synthetic world: shapes (the categories), colours, patterns, sizes.

Every word has an English and a Chinese form. :data:`SHAPES` is the catalogue of every
shape; in the ``legacy`` profile (:mod:`.profiles`) all 16 are the detection and
segmentation categories (ids 1..16 in :data:`SHAPES` order) with an open-vocabulary
base/novel split in the spirit of OV-COCO's 48/17: the four novel shapes are also sampled
less often, so that they come out as LVIS-style 'r' (rare) categories. The module-level
class lists (:data:`CATEGORY_NAMES`, :data:`DETECTION_METAINFO`, ...) describe that legacy
world; a generated world's own classes are in its ``world_meta.json`` (:mod:`.world_info`).

Background colour names deliberately avoid every object colour word in both languages,
so that a colour word in a caption always refers to an object.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

from .world_info import palette


@dataclass(frozen=True)
class ShapeSpec:
    """One shape, i.e. one category.

    Args:
        name (str): English name, also the category name.
        name_zh (str): Chinese name.
        measure_zh (str): Chinese measure word (个, 颗).
        split (str): 'base' or 'novel'.
        group (str): Designed LVIS-style frequency group ('f', 'c' or 'r'); sets the
            sampling weight (see :data:`GROUP_WEIGHTS`).
        aspect (float): Width / height of the shape's bounding box.
        inner_fraction (float): Side of the centred square, as a fraction of the shorter
            bbox side, that lies inside the shape and may hold a nested object; 0 when
            the shape is never used as a container.
    """

    name: str
    name_zh: str
    measure_zh: str
    split: str
    group: str
    aspect: float
    inner_fraction: float

    @property
    def weight(self) -> float:
        """Relative sampling weight of the shape."""
        return GROUP_WEIGHTS[self.group]


@dataclass(frozen=True)
class ColourSpec:
    """An object colour with its rendering RGB value."""

    name: str
    name_zh: str
    rgb: Tuple[int, int, int]


@dataclass(frozen=True)
class PatternSpec:
    """A surface pattern (solid, striped, dotted, checkered)."""

    name: str
    name_zh: str


@dataclass(frozen=True)
class SizeSpec:
    """A size class, as a range of the object's long side over the image's shorter side.

    Args:
        name (str): Key used in annotations ('small', 'medium', 'large').
        adjective (str): English adjective used in text ('medium-sized').
        name_zh (str): Chinese prefix of the noun (小, 中号, 大).
        min_frac (float): Lower bound of the relative size.
        max_frac (float): Upper bound of the relative size.
    """

    name: str
    adjective: str
    name_zh: str
    min_frac: float
    max_frac: float


@dataclass(frozen=True)
class BackgroundSpec:
    """A light background colour."""

    name: str
    name_zh: str
    rgb: Tuple[int, int, int]


@dataclass(frozen=True)
class TextureSpec:
    """How the background is textured, with the phrase used in long captions."""

    name: str
    phrase: str
    phrase_zh: str


# Relative sampling weights (normalised when sampling): frequent base shapes, common base
# shapes, rare novel shapes. statistics.py turns the resulting train image counts back into
# r/c/f tags; the gaps between the groups keep those tags stable across seeds.
GROUP_WEIGHTS = {'f': 0.1, 'c': 0.055, 'r': 0.028}

SHAPES: Tuple[ShapeSpec, ...] = (
    ShapeSpec('circle', '圆形', '个', 'base', 'f', 1.0, 0.62),
    ShapeSpec('square', '正方形', '个', 'base', 'f', 1.0, 0.8),
    ShapeSpec('triangle', '三角形', '个', 'base', 'f', 1.0, 0.0),
    ShapeSpec('star', '五角星', '颗', 'base', 'f', 1.0, 0.0),
    ShapeSpec('heart', '爱心', '颗', 'novel', 'r', 1.0, 0.0),
    ShapeSpec('hexagon', '六边形', '个', 'base', 'c', 1.0, 0.62),
    ShapeSpec('pentagon', '五边形', '个', 'base', 'c', 1.0, 0.5),
    ShapeSpec('diamond', '菱形', '个', 'base', 'c', 0.7, 0.0),
    ShapeSpec('cross', '十字形', '个', 'base', 'c', 1.0, 0.0),
    ShapeSpec('crescent', '月牙形', '个', 'novel', 'r', 1.0, 0.0),
    ShapeSpec('ring', '圆环', '个', 'base', 'c', 1.0, 0.36),
    ShapeSpec('arrow', '箭头', '个', 'base', 'c', 1.6, 0.0),
    ShapeSpec('ellipse', '椭圆形', '个', 'base', 'f', 1.7, 0.55),
    ShapeSpec('rectangle', '长方形', '个', 'base', 'f', 1.8, 0.8),
    ShapeSpec('trapezoid', '梯形', '个', 'novel', 'r', 1.5, 0.0),
    ShapeSpec('octagon', '八边形', '个', 'novel', 'r', 1.0, 0.0),
)

COLOURS: Tuple[ColourSpec, ...] = (
    ColourSpec('red', '红色', (215, 30, 35)),
    ColourSpec('orange', '橙色', (245, 130, 10)),
    ColourSpec('yellow', '黄色', (245, 215, 20)),
    ColourSpec('green', '绿色', (30, 150, 50)),
    ColourSpec('blue', '蓝色', (30, 75, 215)),
    ColourSpec('purple', '紫色', (125, 40, 170)),
    ColourSpec('pink', '粉色', (245, 125, 185)),
    ColourSpec('brown', '棕色', (120, 70, 30)),
    ColourSpec('black', '黑色', (25, 25, 25)),
    ColourSpec('white', '白色', (250, 250, 250)),
    ColourSpec('gray', '灰色', (128, 128, 128)),
)

PATTERNS: Tuple[PatternSpec, ...] = (
    PatternSpec('solid', '纯色'),
    PatternSpec('striped', '条纹'),
    PatternSpec('dotted', '圆点'),
    PatternSpec('checkered', '格子'),
)

SIZES: Tuple[SizeSpec, ...] = (
    SizeSpec('small', 'small', '小', 0.14, 0.24),
    SizeSpec('medium', 'medium-sized', '中号', 0.30, 0.42),
    SizeSpec('large', 'large', '大', 0.52, 0.72),
)

BACKGROUNDS: Tuple[BackgroundSpec, ...] = (
    BackgroundSpec('beige', '米色', (228, 216, 192)),
    BackgroundSpec('mint', '薄荷色', (206, 232, 216)),
    BackgroundSpec('lavender', '薰衣草色', (224, 216, 238)),
    BackgroundSpec('ivory', '象牙色', (238, 234, 214)),
    BackgroundSpec('sand', '沙色', (222, 206, 170)),
)

TEXTURES: Tuple[TextureSpec, ...] = (
    TextureSpec('gradient', 'with a soft gradient', '带柔和渐变的'),
    TextureSpec('grain', 'with a fine grain', '带细腻颗粒纹理的'),
    TextureSpec('plain', '', ''),
)

CATEGORY_NAMES: Tuple[str, ...] = tuple(s.name for s in SHAPES)
CATEGORY_NAMES_ZH: Tuple[str, ...] = tuple(s.name_zh for s in SHAPES)
BASE_CLASSES: Tuple[str, ...] = tuple(s.name for s in SHAPES if s.split == 'base')
NOVEL_CLASSES: Tuple[str, ...] = tuple(s.name for s in SHAPES if s.split == 'novel')
COLOUR_NAMES: Tuple[str, ...] = tuple(c.name for c in COLOURS)
PATTERN_NAMES: Tuple[str, ...] = tuple(p.name for p in PATTERNS)
SIZE_NAMES: Tuple[str, ...] = tuple(s.name for s in SIZES)

SHAPE_BY_NAME: Dict[str, ShapeSpec] = {s.name: s for s in SHAPES}
COLOUR_BY_NAME: Dict[str, ColourSpec] = {c.name: c for c in COLOURS}
PATTERN_BY_NAME: Dict[str, PatternSpec] = {p.name: p for p in PATTERNS}
SIZE_BY_NAME: Dict[str, SizeSpec] = {s.name: s for s in SIZES}
BACKGROUND_BY_NAME: Dict[str, BackgroundSpec] = {b.name: b for b in BACKGROUNDS}
TEXTURE_BY_NAME: Dict[str, TextureSpec] = {t.name: t for t in TEXTURES}

_PALETTE = palette(len(SHAPES))  # background first (mmseg convention)

DETECTION_METAINFO = dict(
    classes=CATEGORY_NAMES,
    classes_zh=CATEGORY_NAMES_ZH,
    base_classes=BASE_CLASSES,
    novel_classes=NOVEL_CLASSES,
    palette=[tuple(p) for p in _PALETTE[1:]],
)
SEGMENTATION_METAINFO = dict(
    classes=('background', ) + CATEGORY_NAMES,
    classes_zh=('背景', ) + CATEGORY_NAMES_ZH,
    base_classes=BASE_CLASSES,
    novel_classes=NOVEL_CLASSES,
    palette=[list(p) for p in _PALETTE],
)


def category_id(shape_name: str) -> int:
    """Return the 1-based category id of a shape (the COCO id and seg-map label).

    Args:
        shape_name (str): English shape name, e.g. ``'star'``.

    Returns:
        int: The category id.
    """
    if shape_name not in SHAPE_BY_NAME:
        raise ValueError(f'unknown shape {shape_name!r}, expected one of {CATEGORY_NAMES}')
    return CATEGORY_NAMES.index(shape_name) + 1
