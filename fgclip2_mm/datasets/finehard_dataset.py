"""``FGCLIP2FineHARDDataset``: English FineHARD records (spec section 5.2)."""
from typing import Optional, Sequence, Union

from ..registry import DATASETS
from .record_dataset import FGCLIP2RecordDataset


@DATASETS.register_module()
class FGCLIP2FineHARDDataset(FGCLIP2RecordDataset):
    """English FineHARD records: long and short captions, boxes, region expressions and
    10 hard negatives per box, from JSON arrays and/or JSON-lines files.

    Record schema (spec section 5.2): ``f_path`` (image path relative to
    ``data_root / data_prefix['img_path']``), ``caption`` (long caption; optional),
    ``short_caption`` (required), ``bbox_info`` (required unless
    ``require_bbox_info=False``): a list of ``{bbox: normalised [x1, y1, x2, y2, ...],
    short_expr, long_expr, flag_short_neg, short_expr_negs: {"0": ..., ..., "9": ...}}``;
    optional ``height``/``width`` (used for NaFlex bucketing without opening images). A
    record with ``is_cn`` is Chinese and is rejected here (``lang_mismatch``): load Chinese
    files with :class:`~fgclip2_mm.datasets.FGCLIP2ChinesePairDataset`.

    ``get_data_info(idx)`` returns ``img_path``, ``sample_idx``, ``lang='en'``,
    ``caption_short`` (**without** the ``"a photo of "`` prefix, which the training
    transform adds by config), ``caption_long`` (str or None), ``regions`` and
    ``dataset_id``; see :class:`~fgclip2_mm.datasets.record_dataset.FGCLIP2RecordDataset`
    for the fields, every option and the bad-record policies. Hard negatives come from
    ``short_expr_negs`` in insertion order; a box flagged with a number of negatives other
    than ``num_negatives`` (the pipeline's ``FGCLIP2SampleRegions`` count) keeps its place
    for the region loss with ``hard_negatives=None`` (counted as ``negatives_wrong_count``).

    Example::

        train_en = dict(
            type='fgclip2_mm.FGCLIP2FineHARDDataset',
            data_root='data/finehard',
            ann_file='jsonfiles',                 # a folder: *.json and *.jsonl inside
            data_prefix=dict(img_path='grit-12m'),
            on_bad_record='skip', on_load_error='replace',
            pipeline=train_pipeline)  # FGCLIP2SampleRegions in it selects the boxes

    Args:
        ann_file (str | list[str]): Files, folders or glob patterns.
        data_root (str): Root of annotations and images.
        data_prefix (dict, optional): ``dict(img_path=...)``.
        pipeline (Sequence): Transforms.
        require_bbox_info (bool): Records without ``bbox_info`` are bad records (True, the
            FineHARD schema) or get ``regions=[]`` (False, e.g. stage-1 pairs).
        **kwargs: Other options of ``FGCLIP2RecordDataset`` (``on_bad_record``,
            ``on_load_error``, ``cache_dir``, ...).
    """

    DATA_HINT = (
        'FineHARD annotations are the Hugging Face dataset `qihoo360/FineHARD` '
        '(jsonfiles/*.json); its images are downloaded with the dataset\'s img2dataset '
        'scripts (data/get_data.sh, then data/convert_image_name.py renames them to '
        'grit-12m/coyo_image_*/...). Put both under data/finehard/ (README, "Real data") or '
        'point ann_file / data_root / data_prefix at them, e.g. with --cfg-options.')

    def __init__(self,
                 ann_file: Union[str, Sequence[str]],
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence = (),
                 require_bbox_info: bool = True,
                 **kwargs) -> None:
        for key in ('lang', 'keep_boxes'):
            if key in kwargs:
                raise ValueError(f'FGCLIP2FineHARDDataset is English with boxes; {key!r} is '
                                 'not an option (use FGCLIP2ChinesePairDataset for Chinese)')
        super().__init__(ann_file, lang='en', data_root=data_root, data_prefix=data_prefix,
                         pipeline=pipeline, require_bbox_info=require_bbox_info,
                         keep_boxes=True, **kwargs)
