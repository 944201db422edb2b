"""Named difficulty profiles of the synthetic world.

A profile fixes which shapes exist (with their base / novel split and sampling group), how
large the size classes are, how many objects an image holds and how much of each must stay
visible. Everything else (colours, patterns, backgrounds, texts, file formats) is shared.

* ``legacy``: the world of generator 1.1 (16 shapes, 12 base / 4 novel, sizes 0.14-0.72 of
  the shorter side, up to 8 objects, 60 % visible). Its files are unchanged.
* ``calibrated``: 8 visually distinct shapes (circle, square, triangle, star, cross, ring
  base; heart, crescent novel), larger objects (0.26-0.34 / 0.40-0.52 / 0.60-0.78 of the
  shorter side), at most 4 objects, at least 80 % of each visible: measured in issue 14 to
  make shape learnable by the quick start's small encoder (``shape_learnability.py``
  region-path shape top-1 0.449 vs 0.185 at 400 steps).

The generator writes the chosen profile, its classes, splits and Chinese names to
``world_meta.json``; consumers read them from there (:mod:`.world_info`), never from here.
"""
from dataclasses import dataclass, replace
from typing import Dict, Tuple

import numpy as np

from .vocabulary import SHAPE_BY_NAME, SHAPES, SIZES, ShapeSpec, SizeSpec

DEFAULT_PROFILE = 'calibrated'  # what the quick start and the CLI generate
LEGACY_PROFILE = 'legacy'  # what generate_world() makes without a profile (unchanged world)


@dataclass(frozen=True)
class WorldProfile:
    """One difficulty profile.

    Args:
        name (str): Profile key.
        description (str): One line for ``world_meta.json``.
        shapes (tuple[ShapeSpec]): The categories, in id order (ids 1..K).
        sizes (tuple[SizeSpec]): Small, medium and large classes (long side over the
            image's shorter side).
        max_objects (int): Upper bound of objects per (non-tiny) image.
        min_visible_fraction (float): Share of each object's pixels that later objects
            must leave visible.
    """

    name: str
    description: str
    shapes: Tuple[ShapeSpec, ...]
    sizes: Tuple[SizeSpec, ...]
    max_objects: int
    min_visible_fraction: float

    @property
    def category_names(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.shapes)

    @property
    def category_names_zh(self) -> Tuple[str, ...]:
        return tuple(s.name_zh for s in self.shapes)

    @property
    def base_classes(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.shapes if s.split == 'base')

    @property
    def novel_classes(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.shapes if s.split == 'novel')

    @property
    def shape_weights(self) -> np.ndarray:
        """Normalised sampling probabilities, (K, )."""
        weights = [s.weight for s in self.shapes]
        return np.array(weights) / sum(weights)

    def shape(self, name: str) -> ShapeSpec:
        for spec in self.shapes:
            if spec.name == name:
                return spec
        raise ValueError(f'unknown shape {name!r} in the {self.name!r} world, expected one '
                         f'of {self.category_names}')

    def size(self, name: str) -> SizeSpec:
        for spec in self.sizes:
            if spec.name == name:
                return spec
        raise ValueError(f'unknown size {name!r}, expected one of '
                         f'{tuple(s.name for s in self.sizes)}')

    def category_id(self, shape_name: str) -> int:
        """1-based category id of a shape (COCO id and seg-map label)."""
        return self.category_names.index(self.shape(shape_name).name) + 1

    def to_meta(self) -> Dict:
        """JSON-ready description for ``world_meta.json``."""
        return {'name': self.name, 'description': self.description,
                'max_objects': self.max_objects,
                'min_visible_fraction': self.min_visible_fraction}


def _calibrated_shape(name: str, split: str, group: str) -> ShapeSpec:
    return replace(SHAPE_BY_NAME[name], split=split, group=group)


LEGACY = WorldProfile(
    name=LEGACY_PROFILE,
    description='generator 1.1 world: 16 shapes (12 base / 4 novel), sizes 0.14-0.72 of the '
    'shorter side, up to 8 objects, 60 % visible',
    shapes=SHAPES,
    sizes=SIZES,
    max_objects=8,
    min_visible_fraction=0.6)

CALIBRATED = WorldProfile(
    name='calibrated',
    description='8 visually distinct shapes (6 base / 2 novel), sizes 0.26-0.78 of the '
    'shorter side, up to 4 objects, 80 % visible (issue 14)',
    shapes=tuple(_calibrated_shape(*spec) for spec in (
        ('circle', 'base', 'f'), ('square', 'base', 'f'), ('triangle', 'base', 'f'),
        ('star', 'base', 'f'), ('cross', 'base', 'c'), ('ring', 'base', 'c'),
        ('heart', 'novel', 'r'), ('crescent', 'novel', 'r'))),
    sizes=(SizeSpec('small', 'small', '小', 0.26, 0.34),
           SizeSpec('medium', 'medium-sized', '中号', 0.40, 0.52),
           SizeSpec('large', 'large', '大', 0.60, 0.78)),
    max_objects=4,
    min_visible_fraction=0.8)

PROFILES: Dict[str, WorldProfile] = {p.name: p for p in (LEGACY, CALIBRATED)}


def get_profile(name) -> WorldProfile:
    """The profile called ``name`` (a :class:`WorldProfile` is returned as it is).

    Raises:
        ValueError: Unknown name; the message lists the profiles.
    """
    if isinstance(name, WorldProfile):
        return name
    if name not in PROFILES:
        raise ValueError(f'profile must be one of {tuple(PROFILES)}, got {name!r}')
    return PROFILES[name]
