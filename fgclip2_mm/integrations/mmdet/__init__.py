"""Open-vocabulary detection with FG-CLIP 2 in mmdet 3.x (the F-ViT design).

Import it from a config with
``custom_imports = dict(imports=['fgclip2_mm.integrations.mmdet'], allow_failed_imports=False)``
and name the classes ``fgclip2_mm.<Class>``. Registered (in :mod:`fgclip2_mm.registry`):

- ``FGCLIP2OVDetector`` (MODELS): ``TwoStageDetector`` passing each image's valid shape to
  the backbone and the dense map to the RoI head;
- ``FGCLIP2DetBackbone`` (MODELS): frozen NaFlex ViT -> 4-level simple pyramid + dense map;
- ``FGCLIP2OVRoIHead``, ``FGCLIP2OVBBoxHead``, ``FGCLIP2TextClassifier`` (MODELS): text
  classifier with a background embedding (text or learned) and a learned temperature,
  novel classes never supervised, class-agnostic regression, region-score ensemble (alpha
  base / beta novel);
- ``FGCLIP2RPNHead`` (MODELS): ``RPNHead`` with normalised stacked convolutions;
- ``FGCLIP2VocabularyHook`` (HOOKS): vocabulary from the dataset metainfo, checked against
  the dataset's label order; LVIS base split by category id;
- ``FGCLIP2CocoDataset``, ``FGCLIP2LVISV1Dataset`` (DATASETS): mmdet's, keeping the
  annotation file's categories (names, LVIS frequency) for those checks;
- ``FGCLIP2LVISMetric`` (METRICS): mmdet's LVIS metric working under numpy 2;
- ``FGCLIP2SyntheticDetDataset`` (DATASETS): ``CocoDataset`` taking the synthetic world's
  classes, Chinese names and base / novel split from its annotation file;
- ``FGCLIP2DetLocalVisualizer`` (VISUALIZERS): Chinese labels;
- ``FGCLIP2NaFlexResize`` (TRANSFORMS): resize to the NaFlex size of a patch budget.

Plus :class:`FGCLIP2OVDetInferencer` (``DetInferencer`` with ``texts=``) and
:class:`FGCLIP2TextEmbedder` (cached box-walk class embeddings with prompt templates).
"""
from mmengine.utils import digit_version

try:
    import mmdet
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('fgclip2_mm.integrations.mmdet needs mmdet>=3.0,<4 (pip install '
                      '"mmdet>=3.0,<4"; see tools/setup_env.sh)') from exc

if not digit_version('3.0.0') <= digit_version(mmdet.__version__) < digit_version('4.0.0'):
    raise ImportError(f'fgclip2_mm.integrations.mmdet needs mmdet>=3.0,<4, found '
                      f'{mmdet.__version__}')

from .backbone import FGCLIP2DetBackbone  # noqa: E402
from .bbox_head import FGCLIP2OVBBoxHead  # noqa: E402
from .classifier import FGCLIP2TextClassifier  # noqa: E402
from .datasets import (FGCLIP2CocoDataset, FGCLIP2LVISV1Dataset,  # noqa: E402
                       check_label_order, lvis_base_classes)
from .detector import FGCLIP2OVDetector  # noqa: E402
from .hooks import FGCLIP2VocabularyHook, vocabulary_from_metainfo  # noqa: E402
from .inferencer import FGCLIP2OVDetInferencer  # noqa: E402
from .lvis_metric import FGCLIP2LVISEval, FGCLIP2LVISMetric  # noqa: E402
from .roi_head import FGCLIP2OVRoIHead  # noqa: E402
from .rpn_head import FGCLIP2RPNHead  # noqa: E402
from .synthetic_dataset import FGCLIP2SyntheticDetDataset, coco_file_metainfo  # noqa: E402
from .text_embeddings import FGCLIP2TextEmbedder, load_templates  # noqa: E402
from .transforms import FGCLIP2NaFlexResize  # noqa: E402
from .utils import parse_vocabulary  # noqa: E402
from .visualizer import FGCLIP2DetLocalVisualizer  # noqa: E402

__all__ = [
    'FGCLIP2DetBackbone', 'FGCLIP2OVBBoxHead', 'FGCLIP2TextClassifier', 'FGCLIP2OVDetector',
    'FGCLIP2VocabularyHook', 'vocabulary_from_metainfo', 'FGCLIP2OVDetInferencer',
    'FGCLIP2LVISEval', 'FGCLIP2LVISMetric', 'FGCLIP2OVRoIHead', 'FGCLIP2TextEmbedder',
    'load_templates', 'parse_vocabulary', 'FGCLIP2DetLocalVisualizer', 'FGCLIP2NaFlexResize',
    'FGCLIP2SyntheticDetDataset', 'coco_file_metainfo', 'FGCLIP2CocoDataset',
    'FGCLIP2LVISV1Dataset', 'check_label_order', 'lvis_base_classes', 'FGCLIP2RPNHead'
]
