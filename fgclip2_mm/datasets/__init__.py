"""Datasets, samplers, transforms and the tokenizer of fgclip2_mm.

Importing this package registers the pretraining datasets (FineHARD records, Chinese
pairs, mixtures), the bilingual batch sampler and the dataloader transforms (no mmcv, mmdet
or mmseg import; transformers is imported only when a tokenizer is built). The synthetic
world generator is a data *source*, not a dataset: it is :mod:`fgclip2_mm.synthetic_world`.
"""

from .eval import *  # noqa: F401,F403
from .eval import __all__ as _eval_all
from .cn_pair_dataset import FGCLIP2ChinesePairDataset
from .finehard_dataset import FGCLIP2FineHARDDataset
from .mixture import FGCLIP2DatasetMixture
from .record_index import RecordIndex
from .record_validation import BadRecordError
from .samplers import FGCLIP2BilingualBatchSampler
from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = [
    'FGCLIP2FineHARDDataset', 'FGCLIP2ChinesePairDataset', 'FGCLIP2DatasetMixture',
    'FGCLIP2BilingualBatchSampler', 'RecordIndex', 'BadRecordError', 'FGCLIP2Tokenizer'
] + list(_transforms_all) + list(_eval_all)

