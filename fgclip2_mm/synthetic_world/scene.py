"""Scene sampling: image size, objects with attributes, non-destructive placement.

Objects are placed one after the other; a later object is drawn on top of earlier ones. A
candidate placement is accepted only if every earlier object keeps at least the profile's
``min_visible_fraction`` of its pixels (:mod:`.profiles`). Some small objects are placed
deliberately inside a large container shape so that 'inside' relations occur.
"""
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Tuple

import numpy as np

from .profiles import LEGACY, WorldProfile
from .shapes import MIRRORABLE_SHAPES, ROTATABLE_SHAPES, draw_shape_mask
from .vocabulary import COLOURS, PATTERNS

MIN_OBJECT_SIDE = 10  # px; smaller shapes are unreadable
_SIZE_PROBS = (('small', 0.4), ('medium', 0.35), ('large', 0.25))
_INSIDE_PROB = 0.45  # chance to try nesting a small object when a container exists
_PLACEMENT_TRIES = 30


class Attributes(NamedTuple):
    """The four attributes a text can mention about an object."""

    shape: str
    colour: str
    pattern: str
    size: str


@dataclass
class SceneObject:
    """One placed object. ``x, y, w, h`` is the drawn box; ``mask`` is local to it."""

    attrs: Attributes
    x: int
    y: int
    w: int
    h: int
    mask: np.ndarray
    mirrored: bool = False
    container: int = -1  # index of the object this one sits inside, -1 if none
    style: dict = field(default_factory=dict)  # rendering parameters (see render.py)

    @property
    def centre(self) -> Tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass
class Scene:
    """A sampled image: size, background and objects in drawing order."""

    width: int
    height: int
    background: str
    texture: str
    objects: List[SceneObject]
    owner: np.ndarray  # (H, W) int16 index of the visible object per pixel, -1 = background


def sample_image_size(rng: np.random.Generator) -> Tuple[int, int]:
    """Sample (width, height): mostly ordinary, some tiny, some very elongated."""
    kind = rng.random()
    if kind < 0.07:  # tiny
        return int(rng.integers(48, 65)), int(rng.integers(48, 65))
    if kind < 0.15:  # elongated strip, horizontal or vertical
        long_side, short_side = int(rng.integers(400, 641)), int(rng.integers(64, 121))
        return (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
    long_side = int(rng.integers(192, 641))
    short_side = max(128, int(long_side / rng.uniform(1.0, 2.0)))
    return (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)


def _sample_style(rng: np.random.Generator, size_px: int) -> dict:
    """Rendering parameters of an object: colour jitter and pattern geometry."""
    return dict(
        jitter=rng.integers(-10, 11, size=3).tolist(),
        period=max(4, int(round(size_px / rng.uniform(3.5, 6.0)))),
        phase=rng.integers(0, 64, size=2).tolist(),
        orientation=int(rng.integers(0, 4)),
    )


def _sample_attributes(rng: np.random.Generator, profile: WorldProfile, taken: set,
                       size: str, shape: Optional[str] = None,
                       avoid_colour: Optional[str] = None) -> Optional[Attributes]:
    """Sample attributes whose (shape, colour, pattern, size) tuple is new in the image.

    Returns None if no new combination was found (practically never happens).
    """
    for _ in range(50):
        attrs = Attributes(
            shape=shape or profile.shapes[rng.choice(len(profile.shapes),
                                                     p=profile.shape_weights)].name,
            colour=COLOURS[rng.integers(len(COLOURS))].name,
            pattern=PATTERNS[rng.integers(len(PATTERNS))].name,
            size=size)
        if attrs not in taken and attrs.colour != avoid_colour:
            return attrs
    return None


def _box_size(rng: np.random.Generator, profile: WorldProfile, attrs: Attributes,
              short_side: int, vertical: bool) -> Tuple[int, int]:
    """Pixel width/height of an object's drawn box from its size class and shape aspect."""
    spec = profile.size(attrs.size)
    long_px = max(MIN_OBJECT_SIDE, int(round(short_side * rng.uniform(spec.min_frac,
                                                                      spec.max_frac))))
    aspect = profile.shape(attrs.shape).aspect
    if aspect >= 1:
        w, h = long_px, max(MIN_OBJECT_SIDE, int(round(long_px / aspect)))
    else:
        w, h = max(MIN_OBJECT_SIDE, int(round(long_px * aspect))), long_px
    return (h, w) if vertical else (w, h)


def _occlusion_ok(owner: np.ndarray, full_areas: List[int], visible: np.ndarray, x: int,
                  y: int, mask: np.ndarray, min_visible: float) -> bool:
    """True if drawing ``mask`` at (x, y) keeps every earlier object visible enough."""
    if not full_areas:
        return True
    window = owner[y:y + mask.shape[0], x:x + mask.shape[1]]
    covered = np.bincount(window[mask] + 1, minlength=len(full_areas) + 1)[1:]
    remaining = visible - covered
    return bool(np.all(remaining >= min_visible * np.asarray(full_areas)))


def _contained(container: SceneObject, x: int, y: int, mask: np.ndarray) -> bool:
    """True if ``mask`` at (x, y) lies entirely within the region the container encloses."""
    filled = draw_shape_mask(container.attrs.shape, container.w, container.h,
                             container.mirrored, filled=True)
    ox, oy = x - container.x, y - container.y
    h, w = mask.shape
    if ox < 0 or oy < 0 or ox + w > container.w or oy + h > container.h:
        return False
    return bool(np.all(filled[oy:oy + h, ox:ox + w][mask]))


def _candidate_positions(rng, obj_w, obj_h, width, height, container: Optional[SceneObject]):
    """Yield top-left positions: inside a container's core, or anywhere in the image."""
    for _ in range(_PLACEMENT_TRIES):
        if container is not None:
            cx, cy = container.centre
            slack_x = max(0.0, container.w * 0.12)
            slack_y = max(0.0, container.h * 0.12)
            x = int(round(cx - obj_w / 2 + rng.uniform(-slack_x, slack_x)))
            y = int(round(cy - obj_h / 2 + rng.uniform(-slack_y, slack_y)))
            if 0 <= x <= width - obj_w and 0 <= y <= height - obj_h:
                yield x, y
        else:
            yield (int(rng.integers(0, width - obj_w + 1)),
                   int(rng.integers(0, height - obj_h + 1)))


def _pick_container(rng, profile: WorldProfile, objects: List[SceneObject]) -> Optional[int]:
    """Index of a large container-capable object without a nested child, or None."""
    used = {o.container for o in objects}
    options = [i for i, o in enumerate(objects)
               if o.attrs.size == 'large' and i not in used
               and profile.shape(o.attrs.shape).inner_fraction > 0
               and min(o.w, o.h) * profile.shape(o.attrs.shape).inner_fraction
               >= MIN_OBJECT_SIDE + 2]
    if not options or rng.random() >= _INSIDE_PROB:
        return None
    return options[int(rng.integers(len(options)))]


def _try_place(rng, profile: WorldProfile, scene_size, attrs, owner, full_areas, visible,
               objects, container_idx: Optional[int]) -> Optional[SceneObject]:
    """Find a valid placement for one object, or return None."""
    width, height = scene_size
    short_side = min(width, height)
    vertical = attrs.shape in ROTATABLE_SHAPES and rng.random() < 0.35
    mirrored = attrs.shape in MIRRORABLE_SHAPES and rng.random() < 0.5
    w, h = _box_size(rng, profile, attrs, short_side, vertical)
    container = objects[container_idx] if container_idx is not None else None
    if container is not None:  # shrink to fit the container's core if needed
        inner = profile.shape(container.attrs.shape).inner_fraction
        core = min(container.w, container.h) * inner
        scale = min(1.0, core / max(w, h))
        w, h = max(MIN_OBJECT_SIDE, int(w * scale)), max(MIN_OBJECT_SIDE, int(h * scale))
    if w > width or h > height:
        return None
    mask = draw_shape_mask(attrs.shape, w, h, mirrored)
    for x, y in _candidate_positions(rng, w, h, width, height, container):
        if container is not None and not _contained(container, x, y, mask):
            continue
        if _occlusion_ok(owner, full_areas, visible, x, y, mask,
                         profile.min_visible_fraction):
            return SceneObject(attrs, x, y, w, h, mask, mirrored,
                               container_idx if container is not None else -1,
                               _sample_style(rng, max(w, h)))
    return None


def _sample_size_name(rng) -> str:
    names, probs = zip(*_SIZE_PROBS)
    return names[int(rng.choice(len(names), p=np.array(probs)))]


def sample_scene(rng: np.random.Generator, width: int, height: int, background: str,
                 texture: str, max_objects: Optional[int] = None,
                 shape: Optional[str] = None, size: Optional[str] = None,
                 profile: WorldProfile = LEGACY) -> Scene:
    """Sample and place the objects of one image.

    Args:
        rng (np.random.Generator): The image's own generator.
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        background (str): Background name (kept on the scene for captions).
        texture (str): Background texture name.
        max_objects (int, optional): Upper bound on the object count; by default 1 for
            tiny images (both sides under 72 px) and the profile's ``max_objects``
            otherwise.
        shape (str, optional): Force the shape of the first object (classification
            images). Defaults to None.
        size (str, optional): Force the size class of the first object. Defaults to None.
        profile (WorldProfile): Shapes, sizes and placement rules
            (:mod:`.profiles`). Defaults to the legacy world's.

    Returns:
        Scene: At least one object, each at least ``profile.min_visible_fraction`` visible.
    """
    if max_objects is None:
        max_objects = 1 if max(width, height) < 72 else profile.max_objects
    wanted = int(rng.integers(1, max_objects + 1))
    owner = np.full((height, width), -1, dtype=np.int16)
    objects: List[SceneObject] = []
    full_areas: List[int] = []
    visible = np.zeros(0, dtype=np.int64)
    taken: set = set()
    for i in range(wanted):
        container_idx = _pick_container(rng, profile, objects) if objects else None
        if container_idx is not None:
            size_name = 'small'
        elif i == 0 and size is not None:
            size_name = size
        else:
            size_name = _sample_size_name(rng)
        avoid = objects[container_idx].attrs.colour if container_idx is not None else None
        attrs = _sample_attributes(rng, profile, taken, size_name, shape if i == 0 else None,
                                   avoid)
        if attrs is None:
            continue
        obj = _try_place(rng, profile, (width, height), attrs, owner, full_areas, visible,
                         objects, container_idx)
        if obj is None and size_name != 'small' and attrs._replace(size='small') not in taken:
            attrs = attrs._replace(size='small')
            obj = _try_place(rng, profile, (width, height), attrs, owner, full_areas,
                             visible, objects, None)
        if obj is None:
            continue
        window = owner[obj.y:obj.y + obj.h, obj.x:obj.x + obj.w]
        window[obj.mask] = len(objects)
        objects.append(obj)
        taken.add(attrs)
        full_areas.append(int(obj.mask.sum()))
        visible = np.bincount(owner.ravel() + 1, minlength=len(objects) + 1)[1:]
    if not objects:  # a single medium object always fits an empty image
        attrs = _sample_attributes(rng, profile, taken, 'medium', shape)
        obj = _try_place(rng, profile, (width, height), attrs, owner, [], visible, [], None)
        owner[obj.y:obj.y + obj.h, obj.x:obj.x + obj.w][obj.mask] = 0
        objects.append(obj)
    return Scene(width, height, background, texture, objects, owner)
