"""Dataloader transforms of fgclip2_mm (mmcv-free plain callables, registered in
:data:`fgclip2_mm.registry.TRANSFORMS`, usable in ``mmengine.dataset.Compose``)."""
from .formatting import FGCLIP2PackInputs
from .loading import FGCLIP2LoadImage
from fgclip2_mm.utils.naflex import (PATCH_BUDGET_BUCKETS, collate_naflex, get_image_size_for_max_num_patches,
                     naflex_patchify, patches_to_image, pixel_boxes_to_grid, select_patch_budget,
                     select_patch_budget_batch)
from .patchify import FGCLIP2NaFlexPatchify
from .regions import FGCLIP2SampleRegions
from .tokenize import FGCLIP2Tokenize

__all__ = [
    'FGCLIP2LoadImage', 'FGCLIP2NaFlexPatchify', 'FGCLIP2Tokenize', 'FGCLIP2PackInputs',
    'FGCLIP2SampleRegions',
    'PATCH_BUDGET_BUCKETS', 'collate_naflex', 'get_image_size_for_max_num_patches',
    'naflex_patchify', 'patches_to_image', 'pixel_boxes_to_grid', 'select_patch_budget',
    'select_patch_budget_batch'
]
