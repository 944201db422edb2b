"""Zero-shot evaluation of FG-CLIP 2: metrics, the model-side predictor, vocabulary
embeddings (disk-cached) and a Runner-free entry point.

The loops that run them inside mmengine are :class:`fgclip2_mm.engine.FGCLIP2ValLoop`
and :class:`fgclip2_mm.engine.FGCLIP2TestLoop`; the datasets live in
:mod:`fgclip2_mm.datasets.eval`.
"""
from .api import evaluate_zero_shot
from .functional import (first_relevant_ranks, positive_wins, recall_at_k, target_ranks,
                         topk_from_ranks)
from .metrics import (FGCLIP2BoxClsMetric, FGCLIP2FGOVDMetric, FGCLIP2ImageClsMetric,
                      FGCLIP2IndexedMetric, FGCLIP2RetrievalMetric)
from .predictor import FGCLIP2ZeroShotPredictor, unwrap_model
from .text_embeddings import (TextEmbeddingCache, encode_text_list, tokenizer_digest,
                              vocabulary_embeddings, vocabulary_key, weights_digest)

__all__ = [
    'FGCLIP2BoxClsMetric', 'FGCLIP2FGOVDMetric', 'FGCLIP2ImageClsMetric',
    'FGCLIP2RetrievalMetric', 'FGCLIP2IndexedMetric', 'FGCLIP2ZeroShotPredictor',
    'evaluate_zero_shot', 'TextEmbeddingCache', 'vocabulary_embeddings', 'encode_text_list',
    'vocabulary_key', 'weights_digest', 'tokenizer_digest', 'target_ranks',
    'topk_from_ranks', 'positive_wins', 'first_relevant_ranks', 'recall_at_k', 'unwrap_model'
]
