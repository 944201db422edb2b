"""Small helpers of the mmseg glue: host-scope building, script detection, NaFlex sizing."""
import copy
import math
from contextlib import contextmanager
from typing import Iterator, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope, Registry

from fgclip2_mm.text import contains_cjk  # noqa: F401  (the package's one CJK test)
from fgclip2_mm.utils.naflex import (get_image_size_for_max_num_patches,
                                                   select_patch_budget)

HOST_SCOPE = 'mmseg'
#: ``patch_budget`` modes besides a plain int (see :func:`naflex_grid`).
BUDGET_MODES = ('dynamic', 'native')


@contextmanager
def host_scope() -> Iterator[None]:
    """Make ``mmseg`` the default scope for the duration of the block."""
    with DefaultScope.overwrite_default_scope(HOST_SCOPE):
        yield


def build_host(cfg: dict, registry: Registry, **default_args):
    """Build an mmseg-owned sub-config (a copy of ``cfg``) in the ``mmseg`` scope.

    Args:
        cfg (dict): The config (never modified).
        registry (Registry): An mmseg registry, e.g. ``mmseg.registry.MODELS``.
        **default_args: Forwarded to ``registry.build``.
    """
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('_scope_', HOST_SCOPE)
    return registry.build(cfg, default_args=default_args or None)


def check_patch_budget(budget: Union[int, str]) -> Union[int, str]:
    """Validate a ``patch_budget`` setting: a positive int, ``'dynamic'`` or ``'native'``."""
    if isinstance(budget, bool) or not (budget in BUDGET_MODES or
                                        (isinstance(budget, int) and budget > 0)):
        raise ValueError(f'patch_budget must be a positive int or one of {BUDGET_MODES}, '
                         f'got {budget!r}')
    return budget


def naflex_grid(height: int,
                width: int,
                patch_size: int,
                budget: Union[int, str],
                max_num_patches: int = 16384) -> Tuple[int, int]:
    """Patch grid (h, w) for an image of ``height x width`` pixels.

    The image is resized as the SigLIP 2 NaFlex processor does (aspect ratio kept, each side
    a multiple of ``patch_size``, small images up-scaled) under a patch budget N:

    - an int: N itself;
    - ``'dynamic'``: FG-CLIP 2's bucket of the image (128 ... 1024, spec section 8);
    - ``'native'``: ``ceil(H / p) * ceil(W / p)``, about one patch per p x p pixels.

    N is capped at ``max_num_patches`` (the FG-CLIP 2 dense demos use up to 16384).

    Returns:
        tuple[int, int]: ``(h, w)`` in patches.
    """
    budget = check_patch_budget(budget)
    if budget == 'dynamic':
        num = select_patch_budget(height, width, patch_size)
    elif budget == 'native':
        num = math.ceil(height / patch_size) * math.ceil(width / patch_size)
    else:
        num = budget
    target_h, target_w = get_image_size_for_max_num_patches(height, width, patch_size,
                                                            min(num, max_num_patches))
    return target_h // patch_size, target_w // patch_size


def resize_to_grid(images: torch.Tensor, grid: Tuple[int, int], patch_size: int) -> torch.Tensor:
    """Resize normalised images (B, C, H, W) to ``grid * patch_size`` pixels.

    Bilinear with antialiasing, like the PIL resize of the NaFlex processor but on the
    already normalised float tensor (values can differ from the uint8 PIL path by a few
    1e-3; the segmentation tests do not depend on it).
    """
    size = (grid[0] * patch_size, grid[1] * patch_size)
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images.float(), size=size, mode='bilinear', align_corners=False,
                         antialias=True).to(images.dtype)
