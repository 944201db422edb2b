"""FG-CLIP 2 open-vocabulary segmentors (mmseg ``BaseSegmentor`` subclasses)."""
from .base import FGCLIP2OVSegmentorBase, build_clip
from .cat_segmentor import FGCLIP2CATSegmentor
from .training_free import FGCLIP2TrainingFreeSegmentor, class_logits_from_queries

__all__ = [
    'FGCLIP2OVSegmentorBase', 'FGCLIP2TrainingFreeSegmentor', 'FGCLIP2CATSegmentor',
    'build_clip', 'class_logits_from_queries'
]
