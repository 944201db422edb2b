"""Batch plans for lists of images: NaFlex buckets, so padding stays small.

Every image keeps the patch budget it would get alone (FG-CLIP 2's bucket of its own size,
spec section 8, or the caller's fixed budget), so a batched result equals the one-by-one
result up to float rounding. Images of one budget are sorted by their patch count (largest
first) and cut into batches; a batch is padded to its first image's count, so the padding
of a batch is at most the spread of patch counts inside one bucket (at most a few rows of
the grid, since every image of a bucket is resized to nearly fill it).
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Tuple

from fgclip2_mm.utils.naflex import (get_image_size_for_max_num_patches,
                                                   select_patch_budget)

#: Lists longer than this show a progress bar unless ``progress=False``.
PROGRESS_MIN_ITEMS = 64


def patch_count(height: int, width: int, budget: int, patch_size: int = 16) -> int:
    """Patches of an image of ``(height, width)`` resized under ``budget``."""
    h, w = get_image_size_for_max_num_patches(height, width, patch_size, budget)
    return (h // patch_size) * (w // patch_size)


def plan_batches(sizes: Sequence[Tuple[int, int]],
                 batch_size: int,
                 max_num_patches: Optional[int] = None,
                 patch_size: int = 16) -> List[Tuple[int, List[int]]]:
    """Group images into batches of one patch budget each.

    Args:
        sizes (Sequence[tuple[int, int]]): ``(height, width)`` of every image.
        batch_size (int): Most images per batch.
        max_num_patches (int, optional): A fixed budget for every image; None: each image's
            own FG-CLIP 2 bucket.
        patch_size (int): Patch side. Defaults to 16.

    Returns:
        list[tuple[int, list[int]]]: ``(budget, image indices)`` per batch; every index
        appears once.
    """
    check_batch_size(batch_size)
    budgets = [max_num_patches or select_patch_budget(h, w, patch_size) for h, w in sizes]
    counts = [patch_count(h, w, b, patch_size) for (h, w), b in zip(sizes, budgets)]
    order = sorted(range(len(sizes)), key=lambda i: (budgets[i], -counts[i], i))
    plan: List[Tuple[int, List[int]]] = []
    for index in order:
        if plan and plan[-1][0] == budgets[index] and len(plan[-1][1]) < batch_size:
            plan[-1][1].append(index)
        else:
            plan.append((budgets[index], [index]))
    return plan


class Progress:
    """mmengine's progress bar on stderr for long lists, or nothing.

    Args:
        total (int): Number of items.
        enabled (bool, optional): True / False force it; None: on for more than
            :data:`PROGRESS_MIN_ITEMS` items.
    """

    def __init__(self, total: int, enabled: Optional[bool] = None) -> None:
        self.bar = None
        if enabled or (enabled is None and total > PROGRESS_MIN_ITEMS):
            from mmengine.utils import ProgressBar
            self.bar = ProgressBar(total, file=sys.stderr)

    def update(self, num: int) -> None:
        """Advance by ``num`` items."""
        if self.bar is not None:
            self.bar.update(num)

    def close(self) -> None:
        """End the bar's line."""
        if self.bar is not None:
            self.bar.file.write('\n')
            self.bar.file.flush()


def group_batches(keys: Sequence[Hashable], batch_size: int) -> List[List[int]]:
    """Indices of equal ``keys`` in batches of at most ``batch_size``.

    For hosts whose batch must be uniform to give one-by-one results (mmdet pads a batch to
    its largest image, an mmseg segmentor picks one NaFlex grid per batch), the key is what
    has to agree (the padded input shape, the image size).

    Args:
        keys (Sequence[Hashable]): One key per item.
        batch_size (int): Most items per batch.

    Returns:
        list[list[int]]: Batches, in the order of each key's first item; inside a batch the
        input order is kept. Every index appears once.
    """
    check_batch_size(batch_size)
    groups: Dict[Hashable, List[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return [members[s:s + batch_size] for members in groups.values()
            for s in range(0, len(members), batch_size)]


def thread_map(fn: Callable, items: Sequence, workers: int = 0) -> list:
    """``[fn(x) for x in items]``, in a thread pool of ``workers`` threads when > 1.

    Decoding (PIL, cv2) and resizing release the GIL, so a few threads overlap them; the
    results keep the order of ``items`` and the first exception is raised as is.
    """
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def check_batch_size(batch_size) -> int:
    """``batch_size`` when it is a positive int; ValueError naming it otherwise."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
    return batch_size
