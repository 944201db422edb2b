"""Segmentation heads on FG-CLIP 2 features."""
from .aggregation_layers import ClassAggregation, GuidedUpsample, SpatialAggregation
from .cost_aggregation_head import FGCLIP2CostAggregationHead

__all__ = ['FGCLIP2CostAggregationHead', 'SpatialAggregation', 'ClassAggregation',
           'GuidedUpsample']
