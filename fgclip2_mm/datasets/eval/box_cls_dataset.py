"""``FGCLIP2BoxClsDataset``: ground-truth box classification (spec §6.4)."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np

from fgclip2_mm.registry import DATASETS
from .base import FGCLIP2EvalDataset
from .vocabularies import VOCABULARIES, category_names, colour_shape_vocabulary


def _image_path(image: dict, source: str) -> str:
    """``file_name`` (COCO) or the last two parts of ``coco_url`` (LVIS v1, e.g.
    ``val2017/000000397133.jpg``, relative to the COCO image root)."""
    if isinstance(image.get('file_name'), str):
        return image['file_name']
    if isinstance(image.get('coco_url'), str):
        return '/'.join(image['coco_url'].rstrip('/').split('/')[-2:])
    raise ValueError(f'{source}: image id {image.get("id")} has neither "file_name" nor '
                     '"coco_url"')


def _xyxy(ann: dict, source: str) -> List[float]:
    bbox = ann.get('bbox')
    if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) for v in bbox) or bbox[2] < 0 or bbox[3] < 0):
        raise ValueError(f'{source}: annotation id {ann.get("id")} has an invalid "bbox" '
                         f'{bbox!r} (expected [x, y, w, h] with w, h >= 0)')
    x, y, w, h = (float(v) for v in bbox)
    return [x, y, x + w, y + h]


@DATASETS.register_module()
class FGCLIP2BoxClsDataset(FGCLIP2EvalDataset):
    """Classify every ground-truth box of a COCO-format instance file (top-1).

    One record per image holding all its boxes (``gt_bboxes``, pixel ``x1, y1, x2, y2`` of
    the original image, from COCO ``[x, y, w, h]``) and their labels (``gt_labels``,
    indices into ``metainfo['classes']``). The region feature of a box is RoIAlign on the
    dense feature map of the whole image, the box mapped onto the patch grid as in spec §8
    (done by ``FGCLIP2.get_image_region_features``); texts use the box walk.

    Vocabularies:

    * ``'categories'``: one class per entry of ``categories`` in file order (the
      reference's ``coco.cats`` order): COCO-80, LVIS-1203 (``replace_underscores=True``),
      BoxClass-CN-566 (raw Chinese names, ``templates='plain'``).
    * ``'colour_shape'``: the synthetic world's colour x shape phrases in ``lang``
      (:func:`~.vocabularies.colour_shape_vocabulary`, shapes from the file's
      ``categories``); a box's label is the (colour, shape) of its annotation's
      ``attributes`` field.

    Every annotation counts (crowd ones too, as in the reference, unless
    ``skip_crowd=True``); images without annotations hold no box and are left out (the
    number is logged).

    Args:
        ann_file (str): COCO-format instances json (LVIS v1 works: images named by
            ``coco_url`` are found under ``data_prefix['img_path']``).
        vocabulary (str): ``'categories'`` or ``'colour_shape'``.
        name_key (str): Category field holding the class name. Defaults to ``'name'``.
        replace_underscores (bool): ``'_'`` -> ``' '`` in class names. Defaults to False.
        templates (str | Sequence[str]): Prompt templates. Defaults to ``'imagenet_en'``.
        skip_crowd (bool): Leave out ``iscrowd`` annotations. Defaults to False.
        text_walk (str): Defaults to ``'box'``.
        **kwargs: See :class:`FGCLIP2EvalDataset`.
    """

    TASK = 'box_cls'
    TASK_KEYS = ('gt_labels', 'ann_ids')

    def __init__(self,
                 ann_file: str,
                 vocabulary: str = 'categories',
                 name_key: str = 'name',
                 replace_underscores: bool = False,
                 templates: Union[str, Sequence[str]] = 'imagenet_en',
                 skip_crowd: bool = False,
                 text_walk: str = 'box',
                 **kwargs) -> None:
        if vocabulary not in VOCABULARIES:
            raise ValueError(f'vocabulary must be one of {VOCABULARIES}, got {vocabulary!r}')
        self.vocabulary = vocabulary
        self.name_key = name_key
        self.replace_underscores = bool(replace_underscores)
        self.skip_crowd = bool(skip_crowd)
        super().__init__(ann_file, templates=templates, text_walk=text_walk, **kwargs)

    def _label_fn(self, categories: List[dict], source: str):
        if self.vocabulary == 'colour_shape':
            phrases, index = colour_shape_vocabulary(self.lang, categories, source)
            self.set_classes(phrases)

            def label(ann: dict) -> int:
                attrs = ann.get('attributes')
                key = (attrs.get('colour'), attrs.get('shape')) if isinstance(attrs, dict) \
                    else None
                if key not in index:
                    raise ValueError(f'{source}: annotation id {ann.get("id")} has no valid '
                                     f'"attributes" colour/shape (got {attrs!r})')
                return index[key]

            return label
        self.set_classes(category_names(categories, self.name_key, self.replace_underscores,
                                        source))
        position = {cat['id']: i for i, cat in enumerate(categories)}

        def label(ann: dict) -> int:
            if ann.get('category_id') not in position:
                raise ValueError(f'{source}: annotation id {ann.get("id")} has category_id '
                                 f'{ann.get("category_id")!r}, not in "categories"')
            return position[ann['category_id']]

        return label

    def load_data_list(self) -> List[dict]:
        """Read the instance file: one record per image with at least one box."""
        from pycocotools.coco import COCO
        source = osp.basename(self.ann_file)
        coco = COCO(self.ann_file)
        categories = coco.dataset.get('categories', [])
        label = self._label_fn(categories, source)
        data_list, empty, crowd = [], 0, 0
        for image_id in coco.getImgIds():
            image = coco.imgs[image_id]
            anns = coco.imgToAnns.get(image_id, [])
            if self.skip_crowd:
                crowd += sum(1 for a in anns if a.get('iscrowd', 0))
                anns = [a for a in anns if not a.get('iscrowd', 0)]
            if not anns:
                empty += 1
                continue
            data_list.append(dict(
                img_path=osp.join(self.data_prefix['img_path'], _image_path(image, source)),
                img_id=image_id,
                gt_bboxes=np.asarray([_xyxy(a, source) for a in anns], dtype=np.float32),
                gt_labels=[label(a) for a in anns],
                ann_ids=[a.get('id') for a in anns]))
        num_boxes = sum(len(d['gt_labels']) for d in data_list)
        self._log(f'{type(self).__name__}: {source}: {len(data_list)} images, {num_boxes} '
                  f'boxes, {len(self.metainfo["classes"])} classes; {empty} images without '
                  f'boxes left out' + (f', {crowd} crowd boxes skipped' if crowd else ''))
        return data_list
