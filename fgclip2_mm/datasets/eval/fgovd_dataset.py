"""``FGCLIP2FGOVDDataset``: the FG-OVD fine-grained benchmark (spec §6.5)."""
import json
import os.path as osp
from typing import List

import numpy as np

from fgclip2_mm.registry import DATASETS
from .base import FGCLIP2EvalDataset

REFERENCE_NEGATIVES = 10


def _read_records(path: str) -> List[tuple]:
    """``(line number, record)`` pairs of a JSON-lines file or of a JSON array."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if text.lstrip().startswith('['):
        return list(enumerate(json.loads(text), start=1))
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{number}: not valid JSON: {err}') from None
    return records


def _strings(record: dict, key: str, where: str, allow_empty: bool) -> List[str]:
    value = record.get(key)
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            or (not value and not allow_empty)):
        raise ValueError(f'{where}: field {key!r} must be a {"" if allow_empty else "non-empty "}'
                         f'list of strings, got {value!r}')
    return value


@DATASETS.register_module()
class FGCLIP2FGOVDDataset(FGCLIP2EvalDataset):
    """FG-OVD records: one box, its positive expression and its negatives.

    File format (JSON lines, or one JSON array), one record per box::

        {"img_path": "val2017/000000397133.jpg", "bbox": [x, y, w, h],   # pixels
         "pos_expression": ["a red striped star"],
         "neg_expression": ["a blue striped star", ...]}                 # usually 10

    The texts of a record are ``pos_expression + neg_expression`` (as the reference eval
    reads them; the target is text 0, the first positive), encoded with the box walk; the
    region feature is RoIAlign on the dense map. A record is correct when text 0 has the
    highest score, ties counting as correct. Records with fewer than 10 negatives (a few
    real *hard* records have 2-9) are scored over the texts they have, as the reference
    does; the metric reports how many there were. Every record counts.

    Args:
        ann_file (str): The jsonl file (e.g. ``1_attributes.jsonl`` of FG-OVD hard).
        text_walk (str): Defaults to ``'box'``.
        **kwargs: See :class:`FGCLIP2EvalDataset` (``data_prefix=dict(img_path=...)`` is
            the image root that ``img_path`` is relative to).
    """

    TASK = 'fgovd'
    TASK_KEYS = ('texts', 'num_negatives')

    def __init__(self, ann_file: str, text_walk: str = 'box', **kwargs) -> None:
        super().__init__(ann_file, text_walk=text_walk, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse and validate every record (errors name the file, line and field)."""
        source = osp.basename(self.ann_file)
        data_list, short = [], 0
        for number, record in _read_records(self.ann_file):
            where = f'{source}:{number}'
            if not isinstance(record, dict):
                raise ValueError(f'{where}: a record must be a JSON object')
            if not isinstance(record.get('img_path'), str):
                raise ValueError(f'{where}: field "img_path" must be a string')
            bbox = record.get('bbox')
            if (not isinstance(bbox, list) or len(bbox) != 4
                    or not all(isinstance(v, (int, float)) for v in bbox)
                    or bbox[2] < 0 or bbox[3] < 0):
                raise ValueError(f'{where}: field "bbox" must be [x, y, w, h] pixels with '
                                 f'w, h >= 0, got {bbox!r}')
            positives = _strings(record, 'pos_expression', where, allow_empty=False)
            negatives = _strings(record, 'neg_expression', where, allow_empty=True)
            short += len(negatives) < REFERENCE_NEGATIVES
            x, y, w, h = (float(v) for v in bbox)
            data_list.append(dict(
                img_path=osp.join(self.data_prefix['img_path'], record['img_path']),
                gt_bboxes=np.asarray([[x, y, x + w, y + h]], dtype=np.float32),
                texts=positives + negatives,
                num_negatives=len(negatives)))
        self._log(f'{type(self).__name__}: {source}: {len(data_list)} records, {short} with '
                  f'fewer than {REFERENCE_NEGATIVES} negatives (scored over the texts they '
                  'have)')
        return data_list
