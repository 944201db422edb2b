"""OV-seg datasets, the bit-depth preserving label loader and label converters."""
from .converters import coco_stuff_to_object
from .ov_seg_datasets import (ADE20K847Dataset, COCOObjectDataset, COCOStuff171Dataset,
                              FGCLIP2SyntheticSegDataset, PascalContext59Dataset,
                              PascalContext60Dataset, PascalContext459Dataset,
                              PascalVOC20Dataset, PascalVOC21Dataset)
from .transforms import FGCLIP2LoadSegAnnotations

__all__ = [
    'ADE20K847Dataset', 'PascalContext459Dataset', 'PascalContext59Dataset',
    'PascalContext60Dataset', 'PascalVOC20Dataset', 'PascalVOC21Dataset', 'COCOObjectDataset',
    'COCOStuff171Dataset', 'FGCLIP2SyntheticSegDataset', 'FGCLIP2LoadSegAnnotations',
    'coco_stuff_to_object'
]
