"""Zero-shot evaluation of FG-CLIP 2: metrics, the zero-shot head (the model's predict
path for evaluation batches), vocabulary embeddings (disk-cached), the one task loop and a
Runner-free entry point.

The mmengine loops around :func:`run_zero_shot_tasks` are
:class:`fgclip2_mm.engine.FGCLIP2ValLoop` and :class:`fgclip2_mm.engine.FGCLIP2TestLoop`;
the datasets live in :mod:`fgclip2_mm.datasets.eval`.
"""
from fgclip2_mm.text.embeddings import (TextEmbeddingCache, encode_text_list, tokenizer_digest,
                                        vocabulary_embeddings, vocabulary_key, weights_digest)
from .api import evaluate_zero_shot
from .functional import (first_relevant_ranks, positive_wins, recall_at_k, target_ranks,
                         topk_from_ranks)
from .loop import attach_head, run_zero_shot_tasks, unwrap_model
from .metrics import (FGCLIP2BoxClsMetric, FGCLIP2FGOVDMetric, FGCLIP2ImageClsMetric,
                      FGCLIP2IndexedMetric, FGCLIP2RetrievalMetric)
from .zero_shot_head import FGCLIP2ZeroShotHead

__all__ = [
    'FGCLIP2BoxClsMetric', 'FGCLIP2FGOVDMetric', 'FGCLIP2ImageClsMetric',
    'FGCLIP2RetrievalMetric', 'FGCLIP2IndexedMetric', 'FGCLIP2ZeroShotHead',
    'evaluate_zero_shot', 'TextEmbeddingCache', 'vocabulary_embeddings', 'encode_text_list',
    'vocabulary_key', 'weights_digest', 'tokenizer_digest', 'target_ranks',
    'topk_from_ranks', 'positive_wins', 'first_relevant_ranks', 'recall_at_k', 'unwrap_model',
    'attach_head', 'run_zero_shot_tasks'
]
