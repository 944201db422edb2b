"""Trivial baselines the quick-start numbers are read against (no model involved).

* box classification: chance (one over the colour x shape phrases) and the majority class
  (the most frequent training (colour, shape) predicted for every held-out box);
* hard negatives: chance, one over the 11 texts of a box;
* segmentation: the majority class (background) predicted for every pixel, scored like
  mmseg's ``IoUMetric`` (mean over the classes present in the held-out maps).
"""
import json
import os
import os.path as osp
from collections import Counter

import numpy as np

from ..synthetic_world.negatives import NUM_NEGATIVES
from ..synthetic_world.vocabulary import COLOURS
from ..synthetic_world.world_info import read_world_meta


def _colour_shapes(data_root: str, split: str) -> Counter:
    with open(osp.join(data_root, 'annotations', f'instances_{split}.json'),
              encoding='utf-8') as f:
        anns = json.load(f)['annotations']
    return Counter((a['attributes']['colour'], a['attributes']['shape']) for a in anns)


def box_cls_controls(data_root: str) -> dict:
    """Chance and majority-class accuracies of box classification and hard negatives.

    Returns:
        dict: ``chance`` (``box_cls_top1``, ``hard_neg_acc``) and ``majority_class``
        (``box_cls_top1``, ``phrase``).
    """
    meta = read_world_meta(data_root)
    train, val = _colour_shapes(data_root, 'train'), _colour_shapes(data_root, 'val')
    (colour, shape), _ = train.most_common(1)[0]
    return dict(
        chance=dict(box_cls_top1=round(1 / (len(COLOURS) * len(meta['classes'])), 4),
                    hard_neg_acc=round(1 / (NUM_NEGATIVES + 1), 4)),
        majority_class=dict(box_cls_top1=round(val[(colour, shape)] / sum(val.values()), 4),
                            phrase=f'{colour} {shape}'))


def seg_majority_miou(data_root: str, split: str = 'val') -> float:
    """mIoU of predicting the background (label 0) everywhere on ``split``'s seg maps."""
    from PIL import Image
    folder = osp.join(data_root, 'seg_maps', split)
    counts = np.zeros(256, dtype=np.int64)
    for name in sorted(os.listdir(folder)):
        counts += np.bincount(np.asarray(Image.open(osp.join(folder, name))).ravel(),
                              minlength=256)
    present = int((counts > 0).sum())
    if not present:
        raise ValueError(f'{folder}: no seg map pixels')
    return round(float(counts[0] / counts.sum()) / present, 4)
