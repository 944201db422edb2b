"""mmseg 1.x glue of fgclip2_mm: open-vocabulary semantic segmentation with FG-CLIP 2.

Not imported by ``import fgclip2_mm``; configs load it with
``custom_imports=dict(imports=['fgclip2_mm.integrations.mmseg'], allow_failed_imports=False)``
and name its classes ``'fgclip2_mm.<Class>'``. Registered (in fgclip2_mm's registries):

- segmentors ``FGCLIP2TrainingFreeSegmentor`` and ``FGCLIP2CATSegmentor``, the head
  ``FGCLIP2CostAggregationHead``;
- datasets ``ADE20K847Dataset``, ``PascalContext459Dataset``, ``PascalContext59Dataset``,
  ``PascalContext60Dataset``, ``PascalVOC20Dataset``, ``PascalVOC21Dataset``,
  ``COCOObjectDataset``, ``COCOStuff171Dataset``, ``FGCLIP2SyntheticSegDataset``; the transform
  ``FGCLIP2LoadSegAnnotations``.
"""
from mmengine.utils import digit_version

import mmseg

if not digit_version('1.1.0') <= digit_version(mmseg.__version__) < digit_version('2.0.0'):
    raise ImportError(f'fgclip2_mm.integrations.mmseg needs mmseg>=1.1,<2, found '
                      f'{mmseg.__version__}')

from .datasets import (ADE20K847Dataset, COCOObjectDataset, COCOStuff171Dataset,  # noqa
                       FGCLIP2LoadSegAnnotations, FGCLIP2SyntheticSegDataset,
                       PascalContext59Dataset, PascalContext60Dataset, PascalContext459Dataset,
                       PascalVOC20Dataset, PascalVOC21Dataset, coco_stuff_to_object)
from .heads import FGCLIP2CostAggregationHead  # noqa: E402
from .inferencer import FGCLIP2OVSegInferencer  # noqa: E402
from .segmentors import FGCLIP2CATSegmentor, FGCLIP2TrainingFreeSegmentor  # noqa: E402
from .vocabulary import ClassVocabulary, load_templates, resolve_vocabulary  # noqa: E402

__all__ = [
    'FGCLIP2TrainingFreeSegmentor', 'FGCLIP2CATSegmentor', 'FGCLIP2CostAggregationHead',
    'FGCLIP2OVSegInferencer', 'ADE20K847Dataset', 'PascalContext459Dataset',
    'PascalContext59Dataset', 'PascalContext60Dataset', 'PascalVOC20Dataset',
    'PascalVOC21Dataset', 'COCOObjectDataset', 'COCOStuff171Dataset',
    'FGCLIP2SyntheticSegDataset', 'FGCLIP2LoadSegAnnotations', 'coco_stuff_to_object',
    'ClassVocabulary', 'resolve_vocabulary', 'load_templates'
]
