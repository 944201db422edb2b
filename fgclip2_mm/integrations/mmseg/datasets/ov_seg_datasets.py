"""Open-vocabulary segmentation benchmarks missing from mmseg 1.2.2 (or missing Chinese
names there), in the conventions of the standard OV-seg protocol (CAT-Seg, SCLIP).

Every ``METAINFO`` has ``classes`` (display names, mmseg's where mmseg has the dataset),
``palette`` and ``synonyms`` (comma-separated alternatives read by the text encoder);
the small vocabularies also have ``classes_zh`` / ``synonyms_zh`` (written for this
project). Label conventions (what ``gt_sem_seg`` holds after loading):

==========================  =========  =====================================  ==========
dataset                     classes    stored labels -> train ids             ignore
==========================  =========  =====================================  ==========
ADE20K-847 (val 2000)       847        16-bit TIFF 0..846 (as stored)         65535
PASCAL-Context-459 (5105)   459        16-bit TIFF 0..458 (as stored)         65535
PASCAL-Context-59 (5105)    59         PNG 0 bg, 1..59 -> reduce_zero_label   255
PASCAL-Context-60 (5105)    60         PNG 0 background, 1..59 (as stored)    255
PASCAL VOC-20 (val 1449)    20         PNG 0 bg, 1..20 -> reduce_zero_label   255
PASCAL VOC-21 (val 1449)    21         PNG 0 background, 1..20 (as stored)    255
COCO-Object (val 5000)      81         PNG 0 background, 1..80 (converted)    255
COCO-Stuff-171              171        PNG 0..170 (mmseg converter)           255
synthetic world (val)       17         PNG 0 background, 1..16 (as stored)    255
==========================  =========  =====================================  ==========

The 16-bit datasets need :class:`FGCLIP2LoadSegAnnotations` (mmseg's ``LoadAnnotations``
casts labels to uint8, which would wrap 256..846 silently); they refuse any pipeline
holding mmseg's loader. ``IoUMetric(ignore_index=65535)`` goes with them (see the
project's dataset configs).
"""
import numpy as np
from mmseg.datasets import (BaseSegDataset, COCOStuffDataset, PascalContextDataset,
                            PascalContextDataset59, PascalVOCDataset)

from fgclip2_mm.synthetic_world import (SEGMENTATION_METAINFO, read_world_meta,
                                           segmentation_metainfo)
from fgclip2_mm.registry import DATASETS
from ..vocabulary import builtin_class_file, display_names, read_class_file

IGNORE_16BIT = 65535
#: Background synonyms for datasets whose background is every unlisted stuff class.
BACKGROUND_EN = ('background, sky, wall, tree, grass, road, floor, ceiling, building, ground, '
                 'water, mountain, field')
BACKGROUND_ZH = '背景, 天空, 墙壁, 树木, 草地, 道路, 地板, 天花板, 建筑, 地面, 水面, 山, 田野'


def make_palette(num: int, seed: int = 2026) -> list:
    """A fixed pseudo-random palette of ``num`` RGB colours (lists of 3 ints)."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(num, 3)).tolist()


def _lines(key: str) -> list:
    return [', '.join(syns) for syns in read_class_file(builtin_class_file(key))]


def _meta(key: str, classes=None, palette=None, zh: bool = False, background=None) -> dict:
    """METAINFO from the built-in class files ``<key>.txt`` (+ ``<key>_zh.txt``)."""
    synonyms = _lines(key)
    synonyms_zh = _lines(f'{key}_zh') if zh else None
    if background is not None:
        synonyms = [background[0]] + synonyms
        synonyms_zh = [background[1]] + synonyms_zh if zh else None
    meta = dict(
        classes=tuple(classes or display_names([s.split(', ') for s in synonyms])),
        synonyms=tuple(synonyms),
        palette=palette or make_palette(len(synonyms)))
    if zh:
        meta.update(classes_zh=tuple(s.split(', ')[0] for s in synonyms_zh),
                    synonyms_zh=tuple(synonyms_zh))
    if len(meta['classes']) != len(synonyms):
        raise ValueError(f'{key}: {len(meta["classes"])} class names for {len(synonyms)} '
                         'synonym lines')
    return meta


class _SixteenBitSegDataset(BaseSegDataset):
    """Base of the datasets stored as 16-bit TIFF label maps (ignore 65535)."""

    def __init__(self, img_suffix='.jpg', seg_map_suffix='.tif', reduce_zero_label=False,
                 ignore_index=IGNORE_16BIT, **kwargs) -> None:
        for step in kwargs.get('pipeline', []):
            kind = step.get('type', '') if isinstance(step, dict) else type(step).__name__
            if isinstance(kind, str) and kind.split('.')[-1] == 'LoadAnnotations':
                raise ValueError(
                    f'{type(self).__name__}: labels are 16-bit TIFF maps; mmseg\'s '
                    'LoadAnnotations casts them to uint8 and corrupts labels >= 256. Use '
                    'dict(type="fgclip2_mm.FGCLIP2LoadSegAnnotations") in the pipeline')
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, ignore_index=ignore_index,
                         **kwargs)


@DATASETS.register_module()
class ADE20K847Dataset(_SixteenBitSegDataset):
    """ADE20K-847 ("ADE20K full") validation, as prepared for the OV-seg protocol:
    ``images_detectron2/validation/*.jpg`` and ``annotations_detectron2/validation/*.tif``
    (16-bit labels 0..846, 65535 unlabeled)."""
    METAINFO = _meta('ade847')


@DATASETS.register_module()
class PascalContext459Dataset(_SixteenBitSegDataset):
    """PASCAL-Context-459 ("full") validation: ``JPEGImages/*.jpg`` and
    ``annotations_detectron2/pc459_val/*.tif`` (16-bit, raw label - 1, so 0..458 and 65535
    for the raw 0 = unlabeled)."""
    METAINFO = _meta('context459')


@DATASETS.register_module()
class PascalContext59Dataset(PascalContextDataset59):
    """mmseg's PASCAL-Context-59 (``reduce_zero_label=True``) with synonyms and Chinese
    names."""
    METAINFO = _meta('context59', classes=PascalContextDataset59.METAINFO['classes'],
                     palette=PascalContextDataset59.METAINFO['palette'], zh=True)


@DATASETS.register_module()
class PascalContext60Dataset(PascalContextDataset):
    """mmseg's PASCAL-Context-60 (label 0 is ``background``, kept) with synonyms and
    Chinese names; the background's only text is "background" since sky, wall, grass and
    the like are classes here."""
    METAINFO = _meta('context59', classes=PascalContextDataset.METAINFO['classes'],
                     palette=PascalContextDataset.METAINFO['palette'], zh=True,
                     background=('background', '背景'))


@DATASETS.register_module()
class PascalVOC20Dataset(BaseSegDataset):
    """PASCAL VOC 2012 without the background class ("VOC-20"): the VOC PNG labels with
    ``reduce_zero_label=True`` (background and the 255 borders are ignored).

    Args:
        ann_file (str): Split file, e.g. ``ImageSets/Segmentation/val.txt``.
    """
    METAINFO = _meta('voc20', classes=PascalVOCDataset.METAINFO['classes'][1:],
                     palette=PascalVOCDataset.METAINFO['palette'][1:], zh=True)

    def __init__(self, ann_file='', img_suffix='.jpg', seg_map_suffix='.png',
                 reduce_zero_label=True, **kwargs) -> None:
        super().__init__(ann_file=ann_file, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, reduce_zero_label=reduce_zero_label,
                         **kwargs)


@DATASETS.register_module()
class PascalVOC21Dataset(PascalVOCDataset):
    """mmseg's PASCAL VOC 2012 (21 classes, label 0 = background) with synonyms, Chinese
    names, and background synonyms for text-scored backgrounds."""
    METAINFO = _meta('voc20', classes=PascalVOCDataset.METAINFO['classes'],
                     palette=PascalVOCDataset.METAINFO['palette'], zh=True,
                     background=(BACKGROUND_EN, BACKGROUND_ZH))


@DATASETS.register_module()
class COCOObjectDataset(BaseSegDataset):
    """COCO-Object: COCO val2017 with the 80 thing classes and a background (label 0) made
    of every stuff class; labels ``*_objectTrainIds.png`` are converted from COCO-Stuff-171
    train ids with :func:`~.converters.coco_stuff_to_object`."""
    METAINFO = _meta('coco_things', zh=True, background=(BACKGROUND_EN, BACKGROUND_ZH))

    def __init__(self, img_suffix='.jpg', seg_map_suffix='_objectTrainIds.png',
                 reduce_zero_label=False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)


def _coco_stuff_text(name: str) -> str:
    """Readable text for a COCO-Stuff class name: ``'wall-brick'`` -> ``'wall brick'``,
    ``'building-other'`` -> ``'building'``, ``'desk-stuff'`` -> ``'desk'``."""
    for suffix in ('-other', '-stuff'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    return {'playingfield': 'playing field', 'waterdrops': 'water drops',
            'tv': 'tv, television'}.get(name, name.replace('-', ' '))


@DATASETS.register_module()
class COCOStuff171Dataset(COCOStuffDataset):
    """mmseg's COCO-Stuff-171 with readable text names (``synonyms``) for the text
    encoder; labels, layout and ``classes`` unchanged."""
    METAINFO = dict(
        COCOStuffDataset.METAINFO,
        synonyms=tuple(_coco_stuff_text(n) for n in COCOStuffDataset.METAINFO['classes']))


@DATASETS.register_module()
class FGCLIP2SyntheticSegDataset(BaseSegDataset):
    """Seg maps of the synthetic world (``fgclip2_mm.synthetic_world``): its shapes and a
    background (label 0), ``images/<split>/*.jpg`` with ``seg_maps/<split>/*.png``.

    The classes come from ``<data_root>/world_meta.json`` (any profile) unless ``metainfo``
    is given; ``METAINFO`` is the legacy 16-shape world's."""
    METAINFO = dict(
        classes=tuple(SEGMENTATION_METAINFO['classes']),
        classes_zh=tuple(SEGMENTATION_METAINFO['classes_zh']),
        palette=[list(p) for p in SEGMENTATION_METAINFO['palette']],
        base_classes=tuple(SEGMENTATION_METAINFO['base_classes']),
        novel_classes=tuple(SEGMENTATION_METAINFO['novel_classes']))

    def __init__(self, img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False,
                 metainfo=None, data_root='', **kwargs) -> None:
        if metainfo is None:
            metainfo = segmentation_metainfo(read_world_meta(data_root))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, metainfo=metainfo,
                         data_root=data_root, **kwargs)
