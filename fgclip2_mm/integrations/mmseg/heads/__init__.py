"""Segmentation heads on FG-CLIP 2 features."""
from .aggregation_layers import ClassAggregation, GuidedUpsample, SpatialAggregation
from .catseg_head import PRUNED_LOGIT, FGCLIP2CATSegHead, prune_classes
from .catseg_layers import ClassAggregationLayer, GuidedWindowBlock, UpBlock
from .cost_aggregation_head import FGCLIP2CostAggregationHead
from .head_base import CostVolumeHeadBase
from .losses import catseg_bce_loss, segmentation_labels

__all__ = ['FGCLIP2CostAggregationHead', 'FGCLIP2CATSegHead', 'CostVolumeHeadBase',
           'SpatialAggregation', 'ClassAggregation', 'GuidedUpsample', 'GuidedWindowBlock',
           'ClassAggregationLayer', 'UpBlock', 'catseg_bce_loss', 'segmentation_labels',
           'prune_classes', 'PRUNED_LOGIT']
