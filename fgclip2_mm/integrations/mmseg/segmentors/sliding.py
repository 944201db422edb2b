"""Sliding-window geometry shared by the segmentors' ``slide`` and ``slide_global`` modes."""
from typing import Iterable, List, Sequence, Tuple

import torch

Box = Tuple[int, int, int, int]


def window_boxes(height: int, width: int, crop: Sequence[int],
                 stride: Sequence[int]) -> List[Box]:
    """``(y1, x1, y2, x2)`` of overlapping ``crop`` windows covering an image, mmseg's
    layout (the last window of a row / column ends at the border; an image smaller than
    the crop is one window of the image's size).

    Args:
        height (int): Image height.
        width (int): Image width.
        crop (Sequence[int]): Window (h, w).
        stride (Sequence[int]): Step (h, w).
    """
    (h_crop, w_crop), (h_stride, w_stride) = crop, stride
    h_grids = max(height - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(width - w_crop + w_stride - 1, 0) // w_stride + 1
    boxes = []
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, height)
            x2 = min(w_idx * w_stride + w_crop, width)
            boxes.append((max(y2 - h_crop, 0), max(x2 - w_crop, 0), y2, x2))
    return boxes


def average_windows(boxes: Sequence[Box], values: Iterable[torch.Tensor], height: int,
                    width: int) -> torch.Tensor:
    """Paste per-window maps (B, K, h, w) at their boxes and average where they overlap.

    Returns:
        Tensor: (B, K, height, width).
    """
    total, count = None, None
    for (y1, x1, y2, x2), value in zip(boxes, values):
        if total is None:
            total = value.new_zeros((value.shape[0], value.shape[1], height, width))
            count = value.new_zeros((1, 1, height, width))
        total[:, :, y1:y2, x1:x2] += value
        count[:, :, y1:y2, x1:x2] += 1
    return total / count
