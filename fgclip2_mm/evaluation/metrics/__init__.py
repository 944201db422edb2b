"""Zero-shot metrics (registered in ``METRICS``)."""
from .base import FGCLIP2IndexedMetric
from .classification_metrics import FGCLIP2BoxClsMetric, FGCLIP2ImageClsMetric
from .fgovd_metric import FGCLIP2FGOVDMetric
from .retrieval_metric import FGCLIP2RetrievalMetric

__all__ = [
    'FGCLIP2IndexedMetric', 'FGCLIP2BoxClsMetric', 'FGCLIP2ImageClsMetric',
    'FGCLIP2FGOVDMetric', 'FGCLIP2RetrievalMetric'
]
