"""Batch samplers of fgclip2_mm (registered in :data:`fgclip2_mm.registry.DATA_SAMPLERS`)."""
from .bilingual_batch_sampler import FGCLIP2BilingualBatchSampler
from .naflex_buckets import patch_budget_buckets

__all__ = ['FGCLIP2BilingualBatchSampler', 'patch_budget_buckets']
