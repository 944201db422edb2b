"""Pixel boxes given to :func:`fgclip2_mm.apis.encode_regions`, validated per box.

A box is ``x1, y1, x2, y2`` in pixels of the original image: exactly four finite numbers,
``x2 > x1`` and ``y2 > y1``, inside ``[0, W] x [0, H]``. A box that leaves the image is an
error unless ``clip=True`` asks for it to be clipped (a box entirely outside stays an
error). Every message names the image and the box index.
"""
import numbers
from typing import Tuple

import numpy as np
import torch

_ROW_TYPES = (list, tuple, np.ndarray, torch.Tensor)


def _is_number(value) -> bool:
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))


def _rows(boxes, label: str) -> np.ndarray:
    """(K, 4) float64 from an array / tensor / list of 4-number rows (or mmdet boxes)."""
    boxes = getattr(boxes, 'tensor', boxes)
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    if isinstance(boxes, np.ndarray) and boxes.size == 0:
        return np.zeros((0, 4))
    if isinstance(boxes, np.ndarray) and boxes.ndim != 2:
        raise ValueError(f'{label}: boxes must have shape (K, 4), got an array of shape '
                         f'{boxes.shape}; write one box as [[x1, y1, x2, y2]]')
    if not isinstance(boxes, (list, tuple, np.ndarray)):
        raise TypeError(f'{label}: boxes must be a (K, 4) array, tensor or list of '
                        f'[x1, y1, x2, y2], got {type(boxes).__name__}')
    rows = list(boxes)
    if rows and all(_is_number(v) for v in rows):
        raise ValueError(f'{label}: boxes is a flat list of {len(rows)} numbers; write one box '
                         'as [[x1, y1, x2, y2]]')
    out = np.zeros((len(rows), 4))
    for index, row in enumerate(rows):
        if not isinstance(row, _ROW_TYPES):
            raise ValueError(f'{label} box {index}: expected 4 numbers x1, y1, x2, y2, got '
                             f'{row!r}')
        values = row.tolist() if isinstance(row, (np.ndarray, torch.Tensor)) else list(row)
        if len(values) != 4:
            raise ValueError(f'{label} box {index}: expected exactly 4 numbers x1, y1, x2, y2, '
                             f'got {len(values)}: {values!r}')
        if not all(_is_number(v) for v in values):
            raise ValueError(f'{label} box {index}: {values!r} holds a value that is not a '
                             'number')
        out[index] = values
    return out


def check_boxes(boxes, image_size: Tuple[int, int], clip: bool = False,
                image_index: int = 0) -> torch.Tensor:
    """Validate (and with ``clip`` clip) the boxes of one image.

    Args:
        boxes (array | Tensor | list): (K, 4) pixel boxes ``x1, y1, x2, y2``; K may be 0.
        image_size (tuple[int, int]): ``(height, width)`` of the original image.
        clip (bool): Clip boxes that leave the image to it. Defaults to False (error).
        image_index (int): The image's position in the call, for the messages.

    Returns:
        Tensor: float32 (K, 4).

    Raises:
        ValueError: Naming the image and box index: not 4 numbers, not finite, zero or
            negative area, outside the image (without ``clip``), entirely outside (with it).
    """
    label = f'image {image_index}'
    height, width = image_size
    rows = _rows(boxes, label)
    size = f'the {width} x {height} (W x H) image'
    for index, (x1, y1, x2, y2) in enumerate(rows):
        box = f'{label} box {index} [{x1:g}, {y1:g}, {x2:g}, {y2:g}]'
        if not np.isfinite([x1, y1, x2, y2]).all():
            raise ValueError(f'{box}: coordinates must be finite')
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'{box}: zero or negative area (needs x2 > x1 and y2 > y1)')
        inside = x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height
        if inside:
            continue
        if not clip:
            raise ValueError(f'{box}: leaves {size}; pass clip=True to clip boxes to the image')
        cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
        cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
        if cx2 <= cx1 or cy2 <= cy1:
            raise ValueError(f'{box}: lies entirely outside {size} (nothing left to clip to)')
        rows[index] = (cx1, cy1, cx2, cy2)
    return torch.from_numpy(rows.astype(np.float32))
