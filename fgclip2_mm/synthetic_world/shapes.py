"""Shape geometry: binary masks of every shape inside a given pixel bounding box.

Shapes are polygons (or ellipse combinations) in unit coordinates that touch all four sides
of the unit square, so the drawn mask fills its bounding box tightly. Masks are drawn with
PIL at the target resolution; no per-pixel Python loops.
"""
import math
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

Point = Tuple[float, float]

# Shapes whose long side may be vertical (a tall rectangle is still a rectangle).
ROTATABLE_SHAPES = ('ellipse', 'rectangle')
# Shapes that may be mirrored left-right (an arrow pointing left is still an arrow).
MIRRORABLE_SHAPES = ('arrow', 'crescent')

_RING_HOLE = 0.55  # inner radius of a ring relative to its outer radius


def _normalise(points: List[Point]) -> List[Point]:
    """Scale a polygon so that it spans exactly [0, 1] on both axes."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0 = min(xs), min(ys)
    sx, sy = max(xs) - x0, max(ys) - y0
    return [((x - x0) / sx, (y - y0) / sy) for x, y in points]


def _regular(num_sides: int, start_deg: float) -> List[Point]:
    """Vertices of a regular polygon, y pointing down."""
    step = 2 * math.pi / num_sides
    start = math.radians(start_deg)
    return _normalise([(math.cos(start + i * step), math.sin(start + i * step))
                       for i in range(num_sides)])


def _star(num_points: int = 5, inner: float = 0.4) -> List[Point]:
    points = []
    for i in range(2 * num_points):
        radius = 1.0 if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / num_points
        points.append((radius * math.cos(angle), radius * math.sin(angle)))
    return _normalise(points)


def _heart(num_samples: int = 72) -> List[Point]:
    points = []
    for i in range(num_samples):
        t = 2 * math.pi * i / num_samples
        x = 16 * math.sin(t)**3
        y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t))
        points.append((x, y))
    return _normalise(points)


def _cross(arm: float = 0.34) -> List[Point]:
    a, b = 0.5 - arm / 2, 0.5 + arm / 2
    return [(a, 0), (b, 0), (b, a), (1, a), (1, b), (b, b), (b, 1), (a, 1), (a, b), (0, b),
            (0, a), (a, a)]


_POLYGONS: Dict[str, List[Point]] = {
    'triangle': [(0.5, 0.0), (1.0, 1.0), (0.0, 1.0)],
    'star': _star(),
    'heart': _heart(),
    'hexagon': _regular(6, 0.0),
    'pentagon': _regular(5, -90.0),
    'octagon': _regular(8, 22.5),
    'diamond': [(0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5)],
    'cross': _cross(),
    'arrow': [(0.0, 0.3), (0.56, 0.3), (0.56, 0.0), (1.0, 0.5), (0.56, 1.0), (0.56, 0.7),
              (0.0, 0.7)],
    'trapezoid': [(0.22, 0.0), (0.78, 0.0), (1.0, 1.0), (0.0, 1.0)],
}
_BOXES = ('square', 'rectangle')
_ELLIPSES = ('circle', 'ellipse')


def _ellipse_box(width: int, height: int, scale: float, shift_x: float = 0.0):
    """PIL ellipse box of a centred ellipse scaled by ``scale``, shifted by a width fraction."""
    cx, cy = (width - 1) / 2 + shift_x * width, (height - 1) / 2
    rx, ry = (width - 1) / 2 * scale, (height - 1) / 2 * scale
    return [cx - rx, cy - ry, cx + rx, cy + ry]


def draw_shape_mask(shape: str, width: int, height: int, mirrored: bool = False,
                    filled: bool = False) -> np.ndarray:
    """Draw one shape filling a ``width`` x ``height`` box.

    Args:
        shape (str): Shape name from :data:`~.vocabulary.SHAPES`.
        width (int): Box width in pixels (>= 2).
        height (int): Box height in pixels (>= 2).
        mirrored (bool): Flip left-right (arrows and crescents). Defaults to False.
        filled (bool): Return the region the shape encloses rather than its pixels;
            differs only for the ring, whose hole is part of the enclosed region.
            Defaults to False.

    Returns:
        np.ndarray: Boolean mask of shape (height, width).
    """
    canvas = Image.new('L', (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    box = [0, 0, width - 1, height - 1]
    if shape in _BOXES:
        draw.rectangle(box, fill=1)
    elif shape in _ELLIPSES:
        draw.ellipse(box, fill=1)
    elif shape == 'ring':
        draw.ellipse(box, fill=1)
        if not filled:
            draw.ellipse(_ellipse_box(width, height, _RING_HOLE), fill=0)
    elif shape == 'crescent':
        draw.ellipse(box, fill=1)
        draw.ellipse(_ellipse_box(width, height, 0.86, shift_x=0.3), fill=0)
    elif shape in _POLYGONS:
        draw.polygon([(x * (width - 1), y * (height - 1)) for x, y in _POLYGONS[shape]],
                     fill=1)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    mask = np.asarray(canvas, dtype=bool)
    return mask[:, ::-1].copy() if mirrored else mask
