"""Spatial language grounded in the placed objects: locations and pairwise relations.

A relation is only emitted when it is unambiguous from the geometry: 'left of' needs a
clearly horizontal offset and little horizontal overlap, 'inside' comes from nested
placement (checked on the masks in :mod:`.scene`), 'next to' needs nearly touching boxes.
"""
from typing import List, Optional, Tuple

import numpy as np

from .scene import Scene, SceneObject

RELATIONS = ('left_of', 'right_of', 'above', 'below', 'next_to', 'inside', 'contains')
LOCATIONS = ('top left', 'top', 'top right', 'left', 'center', 'right', 'bottom left',
             'bottom', 'bottom right')
_DOMINANCE = 1.5  # the main axis offset must exceed the other by this factor
_NEAR = 0.08  # box gap, relative to the image's shorter side, that counts as 'next to'
_NEXT_TO_PROB = 0.3  # share of close directional pairs described as 'next to'


def location_of(obj: SceneObject, width: int, height: int) -> str:
    """Coarse 3x3 location of an object's centre in the image."""
    cx, cy = obj.centre
    col = min(2, int(3 * cx / width))
    row = min(2, int(3 * cy / height))
    return LOCATIONS[3 * row + col]


def _gap(a: SceneObject, b: SceneObject) -> float:
    gap_x = max(b.x - (a.x + a.w), a.x - (b.x + b.w), 0)
    gap_y = max(b.y - (a.y + a.h), a.y - (b.y + b.h), 0)
    return float(max(gap_x, gap_y))


def relation_between(objects: List[SceneObject], i: int, j: int,
                     short_side: int) -> Optional[str]:
    """Relation of object ``i`` with respect to object ``j`` ('i is <rel> j'), or None.

    Args:
        objects (list[SceneObject]): Objects of the scene.
        i (int): Index of the subject.
        j (int): Index of the reference object.
        short_side (int): The image's shorter side in pixels.

    Returns:
        str | None: One of :data:`RELATIONS` or None when no clear relation holds.
    """
    a, b = objects[i], objects[j]
    if a.container == j:
        return 'inside'
    if b.container == i:
        return 'contains'
    (ax, ay), (bx, by) = a.centre, b.centre
    dx, dy = bx - ax, by - ay
    overlap_x = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    overlap_y = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if abs(dx) > _DOMINANCE * abs(dy) and overlap_x <= 0.25 * min(a.w, b.w):
        return 'left_of' if dx > 0 else 'right_of'
    if abs(dy) > _DOMINANCE * abs(dx) and overlap_y <= 0.25 * min(a.h, b.h):
        return 'above' if dy > 0 else 'below'
    if _gap(a, b) <= _NEAR * short_side and (overlap_x <= 0 or overlap_y <= 0):
        return 'next_to'
    return None


def choose_referents(scene: Scene,
                     rng: np.random.Generator) -> List[Tuple[int, Optional[str]]]:
    """Pick, for every object, one other object to describe it against.

    Nesting relations win, otherwise the nearest object with a clear relation; close
    directional pairs are sometimes phrased as 'next to'.

    Args:
        scene (Scene): The placed scene.
        rng (np.random.Generator): The image's generator.

    Returns:
        list[tuple[int, str | None]]: (reference index, relation) per object, or
        (-1, None) if the object has no usable reference.
    """
    objects = scene.objects
    short_side = min(scene.width, scene.height)
    chosen = []
    for i, obj in enumerate(objects):
        best = (-1, None, float('inf'))
        for j, other in enumerate(objects):
            if j == i:
                continue
            rel = relation_between(objects, i, j, short_side)
            if rel is None:
                continue
            dist = -1.0 if rel in ('inside', 'contains') else float(
                np.hypot(obj.centre[0] - other.centre[0], obj.centre[1] - other.centre[1]))
            if dist < best[2]:
                best = (j, rel, dist)
        j, rel, _ = best
        if rel in ('left_of', 'right_of', 'above', 'below') and \
                _gap(obj, objects[j]) <= _NEAR * short_side and rng.random() < _NEXT_TO_PROB:
            rel = 'next_to'
        chosen.append((j, rel))
    return chosen
