"""Zero-shot evaluation datasets (registered in ``DATASETS``): box classification, FG-OVD,
retrieval and image classification, each reading the real benchmark's annotation format
(and the synthetic world's twin of it)."""
from .base import DEFAULT_EVAL_PIPELINE, FGCLIP2EvalDataset
from .box_cls_dataset import FGCLIP2BoxClsDataset
from .fgovd_dataset import FGCLIP2FGOVDDataset
from .image_cls_dataset import FGCLIP2ImageClsDataset
from .retrieval_dataset import FGCLIP2RetrievalDataset
from .retrieval_formats import FORMATS as RETRIEVAL_FORMATS
from .vocabularies import colour_shape_vocabulary

__all__ = [
    'FGCLIP2EvalDataset', 'FGCLIP2BoxClsDataset', 'FGCLIP2FGOVDDataset',
    'FGCLIP2RetrievalDataset', 'FGCLIP2ImageClsDataset', 'RETRIEVAL_FORMATS',
    'DEFAULT_EVAL_PIPELINE', 'colour_shape_vocabulary'
]
