"""``FGCLIP2ChinesePairDataset``: Chinese image-text pairs (spec section 5.3), with boxes
when the records carry FineHARD-schema ``bbox_info``."""
from typing import Optional, Sequence, Union

from ..registry import DATASETS
from .record_dataset import FGCLIP2RecordDataset


@DATASETS.register_module()
class FGCLIP2ChinesePairDataset(FGCLIP2RecordDataset):
    """Chinese records ``{f_path, caption, short_caption, is_cn}`` (spec section 5.3).

    ``short_caption`` is required and used as is (no prefix); ``caption`` (long) is
    optional. Records that also carry ``bbox_info`` in the FineHARD schema (such as the
    synthetic world's ``finehard_zh_*.json``) give regions and hard negatives exactly like
    :class:`~fgclip2_mm.datasets.FGCLIP2FineHARDDataset` when ``keep_boxes=True``
    (the default). The reference loader drops every Chinese box (spec 5.3);
    ``keep_boxes=False`` reproduces that (the ignored boxes are counted as
    ``boxes_ignored``). Records without ``bbox_info`` get ``regions=[]``.

    ``get_data_info(idx)`` returns ``img_path``, ``sample_idx``, ``lang='zh'``,
    ``caption_short``, ``caption_long`` (str or None), ``regions`` and ``dataset_id``; see
    :class:`~fgclip2_mm.datasets.record_dataset.FGCLIP2RecordDataset` for the fields,
    options and bad-record policies.

    Example::

        train_zh = dict(
            type='fgclip2_mm.FGCLIP2ChinesePairDataset',
            data_root='data/cn_pairs', ann_file='.', data_prefix=dict(img_path='images'),
            keep_boxes=True, pipeline=train_pipeline)

    Args:
        ann_file (str | list[str]): Files, folders or glob patterns.
        data_root (str): Root of annotations and images.
        data_prefix (dict, optional): ``dict(img_path=...)``.
        pipeline (Sequence): Transforms.
        keep_boxes (bool): Keep the boxes of records that have ``bbox_info``.
            Defaults to True.
        **kwargs: Other options of ``FGCLIP2RecordDataset``.
    """

    DATA_HINT = (
        'Chinese pairs are your own data: JSON arrays or JSON-lines of records '
        '{"f_path": <image path relative to data_root/data_prefix.img_path>, "caption": <long '
        'caption>, "short_caption": <short caption>, "is_cn": true} (spec section 5.3; '
        'optional FineHARD-schema "bbox_info"), under data/cn_pairs/ (README, "Real data") or '
        'wherever ann_file / data_root / data_prefix point.')

    def __init__(self,
                 ann_file: Union[str, Sequence[str]],
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence = (),
                 keep_boxes: bool = True,
                 **kwargs) -> None:
        for key in ('lang', 'require_bbox_info'):
            if key in kwargs:
                raise ValueError(f'FGCLIP2ChinesePairDataset is Chinese with optional boxes; '
                                 f'{key!r} is not an option')
        super().__init__(ann_file, lang='zh', data_root=data_root, data_prefix=data_prefix,
                         pipeline=pipeline, require_bbox_info=False, keep_boxes=keep_boxes,
                         **kwargs)
