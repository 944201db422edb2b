"""NaFlex patch-budget buckets of many images at once (for batch bucketing)."""
from typing import Optional

import numpy as np

from fgclip2_mm.utils.naflex import select_patch_budget


def patch_budget_buckets(sizes: np.ndarray,
                         patch_size: int = 16,
                         min_side: Optional[int] = None,
                         small_image_size: int = 512) -> np.ndarray:
    """FG-CLIP 2 patch budget of every image, vectorised.

    Equal, image by image, to
    :func:`~fgclip2_mm.datasets.transforms.select_patch_budget` (the single source of the
    bucket table, applied here to the distinct patch counts only). Unknown sizes (a
    non-positive side) get the smallest bucket.

    Args:
        sizes (np.ndarray): Integer (N, 2) ``(height, width)`` in pixels.
        patch_size (int): Patch side in pixels. Defaults to 16.
        min_side (int, optional): As ``FGCLIP2NaFlexPatchify(min_side=...)``: an image with
            a side below it counts as a ``small_image_size`` square. Defaults to None (off).
        small_image_size (int): Side of that square. Defaults to 512.

    Returns:
        np.ndarray: int32 (N,) budgets from
        :data:`~fgclip2_mm.datasets.transforms.PATCH_BUDGET_BUCKETS`.
    """
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
    height, width = sizes[:, 0].copy(), sizes[:, 1].copy()
    known = (height > 0) & (width > 0)
    if min_side is not None:
        small = known & ((height < min_side) | (width < min_side))
        height[small] = width[small] = small_image_size
    patches = np.where(known, (width // patch_size) * (height // patch_size), 0)
    values, inverse = np.unique(patches, return_inverse=True)
    # A patch_size x (u * patch_size) image has exactly u patches.
    table = np.array([select_patch_budget(patch_size, max(int(u), 1) * patch_size, patch_size)
                      if u else select_patch_budget(1, 1, patch_size) for u in values],
                     dtype=np.int32)
    return table[inverse.reshape(-1)]
