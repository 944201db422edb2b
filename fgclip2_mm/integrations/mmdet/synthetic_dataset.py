"""mmdet's ``CocoDataset`` for the synthetic world, its classes read from the annotation file.

The world's COCO files (``fgclip2_mm.synthetic_world``) carry everything the
open-vocabulary detector needs: ``categories`` with ``name`` and ``name_zh`` in id order,
and top-level ``base_classes`` / ``novel_classes``. Taking the metainfo from there (rather
than from a class list in the config) makes one config work on a world of any profile.
"""
import json
import os.path as osp
from typing import Optional

from fgclip2_mm.registry import DATASETS
from fgclip2_mm.synthetic_world.world_info import palette
from .datasets import FGCLIP2CocoDataset


def coco_file_metainfo(ann_file: str) -> dict:
    """``classes``, ``classes_zh``, ``base_classes``, ``novel_classes`` and ``palette`` of a
    synthetic-world COCO file, classes in file (id) order.

    Raises:
        ValueError: Missing file, or a file without these fields (the message names it).
    """
    if not osp.isfile(ann_file):
        raise ValueError(f'annotation file not found: {ann_file}')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    categories = coco.get('categories')
    if not isinstance(categories, list) or not categories:
        raise ValueError(f'{ann_file}: no "categories" list')
    for key in ('base_classes', 'novel_classes'):
        if not isinstance(coco.get(key), list):
            raise ValueError(f'{ann_file}: no top-level {key!r} list (not a synthetic-world '
                             'file; give metainfo=dict(classes=..., base_classes=...))')
    bad = [c.get('id') for c in categories
           if not isinstance(c.get('name'), str) or not isinstance(c.get('name_zh'), str)]
    if bad:
        raise ValueError(f'{ann_file}: categories {bad[:5]} lack a "name" or "name_zh" string')
    ordered = sorted(categories, key=lambda c: c['id'])
    return dict(classes=tuple(c['name'] for c in ordered),
                classes_zh=tuple(c['name_zh'] for c in ordered),
                base_classes=tuple(coco['base_classes']),
                novel_classes=tuple(coco['novel_classes']),
                palette=palette(len(ordered))[1:])


@DATASETS.register_module()
class FGCLIP2SyntheticDetDataset(FGCLIP2CocoDataset):
    """``CocoDataset`` whose metainfo (unless given) is the annotation file's
    (:func:`coco_file_metainfo`); it keeps the file's categories
    (:class:`~fgclip2_mm.integrations.mmdet.datasets.FGCLIP2CocoDataset`). Arguments as
    ``CocoDataset``'s."""

    def __init__(self, ann_file: str = '', metainfo: Optional[dict] = None,
                 data_root: str = '', **kwargs) -> None:
        if metainfo is None:
            path = ann_file if osp.isabs(ann_file) or not data_root else osp.join(
                data_root, ann_file)
            metainfo = coco_file_metainfo(path)
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root, **kwargs)
