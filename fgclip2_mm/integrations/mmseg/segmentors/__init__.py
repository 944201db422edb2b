"""FG-CLIP 2 open-vocabulary segmentors (mmseg ``BaseSegmentor`` subclasses)."""
from .base import FGCLIP2OVSegmentorBase, build_clip
from .cat_segmentor import FGCLIP2CATSegmentor, default_guidance_layers
from .finetune import QVTrainableQKV, finetune_qv_attention
from .training_free import FGCLIP2TrainingFreeSegmentor, class_logits_from_queries
from .vocabulary_check import FGCLIP2SegVocabularyCheckHook, check_label_space

__all__ = [
    'FGCLIP2OVSegmentorBase', 'FGCLIP2TrainingFreeSegmentor', 'FGCLIP2CATSegmentor',
    'build_clip', 'class_logits_from_queries', 'FGCLIP2SegVocabularyCheckHook',
    'check_label_space', 'QVTrainableQKV', 'finetune_qv_attention', 'default_guidance_layers'
]
