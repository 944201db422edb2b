"""Colourised segmentation overlays with a legend, for English or Chinese class names.

Chinese labels need a CJK font. :func:`~fgclip2_mm.visualization.fonts.find_cjk_font`
looks for a system font with Chinese glyphs (the package's one font finder); without one the
picture shows ``index: English name`` (or ``class <index>``) and :func:`save_overlay`
writes the real names to a UTF-8 side file ``<picture>.labels.txt``.
"""
import colorsys
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fgclip2_mm.text import contains_cjk
from fgclip2_mm.visualization.fonts import find_cjk_font

LATIN_FONT_CANDIDATES = ('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', )


def _font(path: Optional[str], size: int):
    if path:
        return ImageFont.truetype(path, size)
    for latin in LATIN_FONT_CANDIDATES:
        if osp.isfile(latin):
            return ImageFont.truetype(latin, size)
    return ImageFont.load_default()


def distinct_palette(num: int) -> List[Tuple[int, int, int]]:
    """``num`` well-separated RGB colours (golden-ratio hue steps, two brightness levels)."""
    colours = []
    for i in range(num):
        hue = (i * 0.618033988749895) % 1.0
        value = 0.95 if i % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _ascii_label(index: int, names: Sequence[str],
                 fallback_names: Optional[Sequence[str]]) -> str:
    """``'3: circle'`` from the name or its fallback when one has no CJK, else ``'class 3'``."""
    for name in (names[index], fallback_names[index] if fallback_names else None):
        if name and not contains_cjk(name):
            return f'{index}: {name}'
    return f'class {index}'


def draw_overlay(image: np.ndarray,
                 pred: np.ndarray,
                 names: Sequence[str],
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 alpha: float = 0.5,
                 fallback_names: Optional[Sequence[str]] = None,
                 font_path: Optional[str] = None,
                 font_size: int = 14) -> Tuple[Image.Image, bool]:
    """Blend the colourised prediction over the image and add a legend on the right.

    The legend lists the classes present in ``pred``, largest area first, with their
    share of the image.

    Args:
        image (np.ndarray): RGB uint8 image (H, W, 3).
        pred (np.ndarray): Class indices (H, W).
        names (Sequence[str]): Class names (any script).
        palette (Sequence, optional): One RGB colour per class. Defaults to
            :func:`distinct_palette`.
        alpha (float): Weight of the colours. Defaults to 0.5.
        fallback_names (Sequence[str], optional): ASCII names used when ``names`` need a
            CJK font and there is none (then each class is drawn as ``'i: name'`` with the
            first CJK-free of its name and fallback, or ``'class i'``).
        font_path (str, optional): Font file; defaults to :func:`find_cjk_font` when
            needed.
        font_size (int): Legend font size. Defaults to 14.

    Returns:
        tuple: The picture (PIL image) and whether fallback labels were drawn.
    """
    if image.shape[:2] != pred.shape:
        raise ValueError(f'image {image.shape[:2]} and prediction {pred.shape} differ in size')
    palette = np.asarray(palette if palette is not None else distinct_palette(len(names)),
                         dtype=np.float32)
    if len(palette) < len(names):
        raise ValueError(f'palette has {len(palette)} colours for {len(names)} classes')
    valid = (pred >= 0) & (pred < len(names))
    colour = palette[np.where(valid, pred, 0)]
    blend = image.astype(np.float32) * (1 - alpha) + colour * alpha
    blend = np.where(valid[..., None], blend, image).astype(np.uint8)

    need_cjk = any(contains_cjk(n) for n in names)
    font_path = font_path or (find_cjk_font() if need_cjk else None)
    fallback = need_cjk and font_path is None
    labels = list(names)
    if fallback:
        labels = [_ascii_label(i, names, fallback_names) for i in range(len(names))]
    font = _font(font_path, font_size)
    ids, counts = np.unique(pred[valid], return_counts=True)
    order = [(int(i), int(c)) for c, i in sorted(zip(counts, ids), reverse=True)]
    line = font_size + 6
    width = 24 + max([int(font.getlength(f'{labels[i]}  100.0%')) for i, _ in order] + [80])
    canvas = Image.new('RGB', (image.shape[1] + width, max(image.shape[0], 8 + line *
                                                          len(order))), (255, 255, 255))
    canvas.paste(Image.fromarray(blend), (0, 0))
    draw = ImageDraw.Draw(canvas)
    x0 = image.shape[1] + 6
    total = max(int(valid.sum()), 1)
    for row, (idx, count) in enumerate(order):
        y = 4 + row * line
        draw.rectangle((x0, y + 2, x0 + 12, y + 14), fill=tuple(int(v) for v in palette[idx]),
                       outline=(0, 0, 0))
        draw.text((x0 + 18, y), f'{labels[idx]}  {100 * count / total:.1f}%', fill=(0, 0, 0),
                  font=font)
    return canvas, fallback


def save_overlay(path: str, image: np.ndarray, pred: np.ndarray, names: Sequence[str],
                 **kwargs) -> dict:
    """:func:`draw_overlay` to ``path`` (PNG); with fallback labels the real names go to
    ``<path>.labels.txt`` (``index<TAB>name`` per line, UTF-8).

    Returns:
        dict: ``overlay`` (path), ``labels_file`` (path or None), ``fallback`` (bool).
    """
    picture, fallback = draw_overlay(image, pred, names, **kwargs)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    picture.save(path)
    labels_file = None
    if fallback:
        labels_file = f'{path}.labels.txt'
        with open(labels_file, 'w', encoding='utf-8') as f:
            f.write('# no CJK font found: the picture shows indices; names below\n')
            for i, name in enumerate(names):
                f.write(f'{i}\t{name}\n')
    return dict(overlay=path, labels_file=labels_file, fallback=fallback)
