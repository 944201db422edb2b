"""Rendering of a :class:`~.scene.Scene` into an RGB image and a semantic label map.

All drawing is vectorised numpy over each object's box. Patterns alternate the object's
colour with a contrasting tint of the same hue (lighter for dark colours, darker for light
ones), so the named colour stays dominant. A one-pixel darker outline keeps light objects
readable on light backgrounds.
"""
import numpy as np

from .profiles import WorldProfile
from .scene import Scene, SceneObject
from .vocabulary import BACKGROUND_BY_NAME, COLOUR_BY_NAME

_LIGHT_LUMA = 155.0  # colours brighter than this get dark pattern tints
_OUTLINE_MIN_SIDE = 14  # px; thinner objects would be all outline


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def render_background(rng: np.random.Generator, width: int, height: int, background: str,
                      texture: str) -> np.ndarray:
    """Light background: a flat colour with a soft gradient or grain, plus faint noise.

    Args:
        rng (np.random.Generator): The image's generator.
        width (int): Image width.
        height (int): Image height.
        background (str): Background name from :data:`~.vocabulary.BACKGROUNDS`.
        texture (str): 'gradient', 'grain' or 'plain'.

    Returns:
        np.ndarray: Float image of shape (H, W, 3) in [0, 255].
    """
    base = np.asarray(BACKGROUND_BY_NAME[background].rgb, dtype=np.float32)
    image = np.broadcast_to(base, (height, width, 3)).astype(np.float32)
    if texture == 'gradient':
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        image = image * (0.9 + 0.12 * ramp)[..., None]
    elif texture == 'grain':
        image = image + rng.normal(0.0, 7.0, size=(height, width, 1)).astype(np.float32)
    image = image + rng.normal(0.0, 2.0, size=(height, width, 3)).astype(np.float32)
    return image


def _pattern_mask(obj: SceneObject, pattern: str) -> np.ndarray:
    """Where the contrasting tint goes, in the object's local box."""
    style = obj.style
    period = style['period']
    yy, xx = np.mgrid[0:obj.h, 0:obj.w]
    xx = xx + style['phase'][0]
    yy = yy + style['phase'][1]
    if pattern == 'solid':
        return np.zeros((obj.h, obj.w), dtype=bool)
    if pattern == 'striped':
        coord = (xx, yy, xx + yy, xx - yy + 4096)[style['orientation']]
        return (coord * 2 // period) % 2 == 1
    if pattern == 'dotted':
        half = period / 2
        dist2 = (xx % period - half + 0.5)**2 + (yy % period - half + 0.5)**2
        return dist2 <= (0.3 * period)**2
    if pattern == 'checkered':
        cell = max(2, period // 2)
        return (xx // cell + yy // cell) % 2 == 1
    raise ValueError(f'unknown pattern {pattern!r}')


def _outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with at least one 4-neighbour outside it."""
    padded = np.pad(mask, 1, constant_values=False)
    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    return mask & ~interior


def paint_object(image: np.ndarray, obj: SceneObject) -> None:
    """Paint one object in place onto a float (H, W, 3) image."""
    rgb = np.clip(np.asarray(COLOUR_BY_NAME[obj.attrs.colour].rgb, np.float32)
                  + np.asarray(obj.style['jitter'], np.float32), 0, 255)
    if _luma(rgb) > _LIGHT_LUMA:
        tint = rgb * 0.45
    else:
        tint = rgb + (255.0 - rgb) * 0.72
    local = np.where(_pattern_mask(obj, obj.attrs.pattern)[..., None], tint, rgb)
    if min(obj.w, obj.h) >= _OUTLINE_MIN_SIDE:
        local = np.where(_outline(obj.mask)[..., None], rgb * 0.55, local)
    window = image[obj.y:obj.y + obj.h, obj.x:obj.x + obj.w]
    window[obj.mask] = local[obj.mask]


def render_scene(rng: np.random.Generator, scene: Scene) -> np.ndarray:
    """Render background and objects (in drawing order).

    Args:
        rng (np.random.Generator): The image's generator (used for the background).
        scene (Scene): The placed scene.

    Returns:
        np.ndarray: uint8 RGB image of shape (H, W, 3).
    """
    image = render_background(rng, scene.width, scene.height, scene.background, scene.texture)
    for obj in scene.objects:
        paint_object(image, obj)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def semantic_map(scene: Scene, profile: WorldProfile) -> np.ndarray:
    """uint8 label map: 0 = background, k = category id (in ``profile``) of the visible
    object."""
    lut = np.zeros(len(scene.objects) + 1, dtype=np.uint8)
    for index, obj in enumerate(scene.objects):
        lut[index + 1] = profile.category_id(obj.attrs.shape)
    return lut[scene.owner.astype(np.int64) + 1]
