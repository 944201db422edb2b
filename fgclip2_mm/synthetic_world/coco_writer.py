"""COCO-format instance files, full and restricted to base or novel categories.

Boxes and masks describe the visible part of each object (what the seg maps show).
Categories carry LVIS-style ``frequency``, ``image_count`` and ``instance_count`` (train
counts) and the open-vocabulary ``split``; the file lists ``base_classes`` and
``novel_classes`` at the top level. The base/novel files keep every image and every
category and drop only annotations, like OV-COCO's ``instances_train2017_seen_2_65_cat``.
"""
from typing import Callable, Dict, List, Optional, Sequence

from .profiles import WorldProfile


def coco_categories(table: Sequence[dict]) -> List[dict]:
    """COCO category entries from :func:`~.statistics.category_table`."""
    return [{'id': c['id'], 'name': c['name'], 'name_zh': c['name_zh'],
             'supercategory': 'shape', 'split': c['split'], 'frequency': c['frequency'],
             'image_count': c['train_image_count'],
             'instance_count': c['train_instance_count']} for c in table]


def coco_instances(records: Sequence[dict], categories: List[dict], split: str,
                   profile: WorldProfile,
                   keep: Optional[Callable[[str], bool]] = None) -> Dict:
    """Build one COCO instances dict.

    Args:
        records (Sequence[dict]): Detection image records of one split, in index order.
        categories (list[dict]): Output of :func:`coco_categories`.
        split (str): Split name, recorded in ``info``.
        profile (WorldProfile): The world's profile (category ids, base / novel).
        keep (Callable[[str], bool], optional): Predicate on the shape name; annotations
            failing it are dropped (ids of kept annotations do not change).

    Returns:
        dict: ``info``, ``images``, ``annotations``, ``categories``, ``base_classes``,
        ``novel_classes``.
    """
    images, annotations = [], []
    ann_id = 0
    for record in records:
        image_id = record['index'] + 1
        images.append({'id': image_id, 'file_name': record['file_name'],
                       'width': record['width'], 'height': record['height'],
                       'seg_map': record['seg_file_name']})
        for obj in record['objects']:
            ann_id += 1
            shape = obj['attributes']['shape']
            if keep is not None and not keep(shape):
                continue
            annotations.append({
                'id': ann_id,
                'image_id': image_id,
                'category_id': profile.category_id(shape),
                'bbox': obj['bbox'],
                'area': float(obj['area']),
                'segmentation': obj['segmentation'],
                'iscrowd': 0,
                'attributes': obj['attributes'],
            })
    return {
        'info': {'description': f'FG-CLIP 2 synthetic shapes world, {split} split',
                 'version': '1.0'},
        'images': images,
        'annotations': annotations,
        'categories': categories,
        'base_classes': list(profile.base_classes),
        'novel_classes': list(profile.novel_classes),
    }
