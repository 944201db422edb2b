"""Attribute-level negatives in the style of FG-OVD.

Negatives are sampled as attribute tuples and only then written out in English and in
Chinese, so negative ``i`` changes the same attribute to the same value in both languages.
The shape (the noun) is never changed, except for 'trivial' negatives, which are other
objects' expressions with a different shape.

* hard: exactly one of colour / pattern / size changed (10 + 3 + 2 = 15 candidates);
* medium: exactly two changed; easy: all three changed.
"""
from itertools import combinations, product
from typing import List, Sequence

import numpy as np

from .scene import Attributes
from .vocabulary import COLOUR_NAMES, PATTERN_NAMES, SIZE_NAMES

NUM_NEGATIVES = 10
CHANGEABLE = ('colour', 'pattern', 'size')
LEVELS = {'hard': 1, 'medium': 2, 'easy': 3}
_VALUES = {'colour': COLOUR_NAMES, 'pattern': PATTERN_NAMES, 'size': SIZE_NAMES}


def _candidates(attrs: Attributes, num_changed: int) -> List[Attributes]:
    """Every tuple that differs from ``attrs`` in exactly ``num_changed`` attributes."""
    out = []
    for fields in combinations(CHANGEABLE, num_changed):
        alternatives = [[v for v in _VALUES[f] if v != getattr(attrs, f)] for f in fields]
        for values in product(*alternatives):
            out.append(attrs._replace(**dict(zip(fields, values))))
    return out


def attribute_negatives(attrs: Attributes, rng: np.random.Generator, level: str,
                        num: int = NUM_NEGATIVES) -> List[Attributes]:
    """Sample ``num`` distinct negatives of one difficulty level.

    Args:
        attrs (Attributes): The positive.
        rng (np.random.Generator): Generator of the image the object belongs to.
        level (str): 'hard', 'medium' or 'easy'.
        num (int): Number of negatives. Defaults to 10.

    Returns:
        list[Attributes]: Distinct negatives, none equal to the positive.
    """
    if level not in LEVELS:
        raise ValueError(f'level must be one of {tuple(LEVELS)}, got {level!r}')
    candidates = _candidates(attrs, LEVELS[level])
    order = rng.permutation(len(candidates))[:num]
    return [candidates[i] for i in order]


def changed_attributes(positive: Attributes, negative: Attributes) -> List[str]:
    """Names of the attributes in which two tuples differ (shape included)."""
    return [f for f in Attributes._fields if getattr(positive, f) != getattr(negative, f)]


def trivial_negatives(attrs: Attributes, pool: Sequence[Attributes], rng: np.random.Generator,
                      shapes: Sequence[str], num: int = NUM_NEGATIVES) -> List[Attributes]:
    """Expressions of other objects (any image of the split) with a different shape.

    Falls back to random tuples with a different shape when the pool is too small.

    Args:
        attrs (Attributes): The positive.
        pool (Sequence[Attributes]): Distinct attribute tuples seen in the split, in a
            fixed order.
        rng (np.random.Generator): Generator used for the choice.
        shapes (Sequence[str]): The world's shape names (for the fallback).
        num (int): Number of negatives. Defaults to 10.

    Returns:
        list[Attributes]: Distinct negatives whose shape differs from the positive's.
    """
    chosen: List[Attributes] = []
    seen = set()
    for _ in range(20 * num if pool else 0):
        if len(chosen) == num:
            break
        other = pool[int(rng.integers(len(pool)))]
        if other.shape != attrs.shape and other not in seen:
            chosen.append(other)
            seen.add(other)
    while len(chosen) < num:
        other = Attributes(
            shape=shapes[rng.integers(len(shapes))],
            colour=COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))],
            pattern=PATTERN_NAMES[rng.integers(len(PATTERN_NAMES))],
            size=SIZE_NAMES[rng.integers(len(SIZE_NAMES))])
        if other.shape != attrs.shape and other not in seen:
            chosen.append(other)
            seen.add(other)
    return chosen
