"""The OV-seg datasets: metainfo (names, Chinese names, palettes), label conventions on tiny
fake layouts (8-bit and 16-bit maps, reduce_zero_label), the 16-bit guard, COCO-Object
conversion and the 16-bit ignore index in mmseg's IoUMetric."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip('mmseg')

from mmengine.registry import DefaultScope  # noqa: E402
from mmseg.evaluation import IoUMetric  # noqa: E402
from mmseg.registry import DATASETS as MMSEG_DATASETS  # noqa: E402

import fgclip2_mm.integrations.mmseg as glue  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import synthetic_world  # noqa: E402
from fgclip2_mm.integrations.mmseg.utils import contains_cjk  # noqa: E402

SIZES = {
    'ADE20K847Dataset': 847, 'PascalContext459Dataset': 459, 'PascalContext59Dataset': 59,
    'PascalContext60Dataset': 60, 'PascalVOC20Dataset': 20, 'PascalVOC21Dataset': 21,
    'COCOObjectDataset': 81, 'COCOStuff171Dataset': 171, 'FGCLIP2SyntheticSegDataset': 17
}
WITH_ZH = ('PascalContext59Dataset', 'PascalContext60Dataset', 'PascalVOC20Dataset',
           'PascalVOC21Dataset', 'COCOObjectDataset', 'FGCLIP2SyntheticSegDataset')
LOAD_8BIT = [dict(type='LoadAnnotations')]
LOAD_ANY = [dict(type='fgclip2_mm.FGCLIP2LoadSegAnnotations')]


def write_pair(root, img_rel, seg_rel, label):
    for rel in (img_rel, seg_rel):
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
    Image.fromarray(np.zeros(label.shape + (3, ), np.uint8)).save(os.path.join(root, img_rel))
    Image.fromarray(label).save(os.path.join(root, seg_rel))


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MMSEG_DATASETS.build(cfg)


def labels_of(dataset):
    return dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()


@pytest.mark.parametrize('name', sorted(SIZES))
def test_metainfo(name):
    meta = getattr(glue, name).METAINFO
    classes = meta['classes']
    assert len(classes) == SIZES[name] == len(meta['palette'])
    assert len(set(classes)) == len(classes), 'class names must be unique'
    if 'synonyms' in meta:
        assert len(meta['synonyms']) == len(classes)
    if name in WITH_ZH:
        assert len(meta['classes_zh']) == len(classes)
        assert all(contains_cjk(n) for n in meta['classes_zh'])
        assert len(set(meta['classes_zh'])) == len(classes)


def test_small_vocabularies_match_mmseg_names():
    from mmseg.datasets import PascalContextDataset59, PascalVOCDataset
    assert glue.PascalVOC21Dataset.METAINFO['classes'] == PascalVOCDataset.METAINFO['classes']
    assert glue.PascalVOC20Dataset.METAINFO['classes'] == \
        PascalVOCDataset.METAINFO['classes'][1:]
    assert glue.PascalContext59Dataset.METAINFO['classes'] == \
        PascalContextDataset59.METAINFO['classes']
    assert glue.ADE20K847Dataset.METAINFO['classes'][:3] == ('wall', 'building', 'sky')
    assert glue.PascalContext459Dataset.METAINFO['classes'][-1] == 'wool'
    stuff = glue.COCOStuff171Dataset.METAINFO
    texts = dict(zip(stuff['classes'], stuff['synonyms']))
    assert texts['building-other'] == 'building' and texts['wall-brick'] == 'wall brick'


def test_voc20_ignores_background_and_voc21_keeps_it(tmp_path):
    label = np.array([[0, 1, 5], [20, 255, 0]], np.uint8)
    root = str(tmp_path)
    write_pair(root, 'JPEGImages/a.jpg', 'SegmentationClass/a.png', label)
    os.makedirs(f'{root}/ImageSets/Segmentation')
    (tmp_path / 'ImageSets/Segmentation/val.txt').write_text('a\n')
    common = dict(data_root=root, ann_file='ImageSets/Segmentation/val.txt',
                  data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                  pipeline=LOAD_8BIT + [dict(type='PackSegInputs')])
    voc20 = build(dict(type='fgclip2_mm.PascalVOC20Dataset', **common))
    assert labels_of(voc20).tolist() == [[255, 0, 4], [19, 255, 255]]
    voc21 = build(dict(type='fgclip2_mm.PascalVOC21Dataset', **common))
    assert labels_of(voc21).tolist() == label.tolist()


@pytest.mark.parametrize('name,img_rel,seg_rel,ann', [
    ('ADE20K847Dataset', 'images_detectron2/validation/x.jpg',
     'annotations_detectron2/validation/x.tif', None),
    ('PascalContext459Dataset', 'JPEGImages/x.jpg', 'annotations_detectron2/pc459_val/x.tif',
     'val.txt'),
])
def test_16bit_labels_survive_loading(tmp_path, name, img_rel, seg_rel, ann):
    label = np.array([[0, 300], [SIZES[name] - 1, 65535]], np.uint16)
    root = str(tmp_path)
    write_pair(root, img_rel, seg_rel, label)
    if ann:
        (tmp_path / ann).write_text('x\n')
    cfg = dict(type=f'fgclip2_mm.{name}', data_root=root,
               data_prefix=dict(img_path=os.path.dirname(img_rel),
                                seg_map_path=os.path.dirname(seg_rel)),
               pipeline=LOAD_ANY + [dict(type='PackSegInputs')])
    if ann:
        cfg['ann_file'] = ann
    dataset = build(cfg)
    assert len(dataset) == 1 and labels_of(dataset).tolist() == label.tolist()
    with pytest.raises(ValueError, match='16-bit'):
        build(dict(cfg, pipeline=LOAD_8BIT))  # mmseg's loader would wrap labels >= 256


def test_16bit_loader_reduces_zero_label_without_wrapping(tmp_path):
    path = str(tmp_path / 'm.tif')
    Image.fromarray(np.array([[0, 1, 700, 65535]], np.uint16)).save(path)
    out = glue.FGCLIP2LoadSegAnnotations(ignore_index=65535)(
        dict(seg_map_path=path, reduce_zero_label=True))
    assert out['gt_seg_map'].tolist() == [[65535, 0, 699, 65535]]


def test_coco_object_layout_and_conversion(tmp_path):
    stuff = np.array([[0, 79, 80], [170, 255, 12]], np.uint8)
    objects = glue.coco_stuff_to_object(stuff)
    # SCLIP's COCO-Object: stuff *and* unlabeled pixels are background, nothing is ignored
    assert objects.tolist() == [[1, 80, 0], [0, 0, 13]]
    with pytest.raises(ValueError, match='0..170'):
        glue.coco_stuff_to_object(np.array([[171]], np.uint8))
    root = str(tmp_path)
    write_pair(root, 'images/val2017/1.jpg', 'annotations/val2017/1_objectTrainIds.png', objects)
    dataset = build(dict(type='fgclip2_mm.COCOObjectDataset', data_root=root,
                         data_prefix=dict(img_path='images/val2017',
                                          seg_map_path='annotations/val2017'),
                         pipeline=LOAD_8BIT + [dict(type='PackSegInputs')]))
    assert labels_of(dataset).tolist() == objects.tolist()


def test_pascal_context_59_and_60(tmp_path):
    label = np.array([[0, 1, 59], [2, 0, 30]], np.uint8)
    root = str(tmp_path)
    write_pair(root, 'JPEGImages/c.jpg', 'SegmentationClassContext/c.png', label)
    (tmp_path / 'val.txt').write_text('c\n')
    common = dict(data_root=root, ann_file='val.txt', pipeline=LOAD_8BIT + [
        dict(type='PackSegInputs')
    ], data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'))
    assert labels_of(build(dict(type='fgclip2_mm.PascalContext59Dataset',
                                **common))).tolist() == [[255, 0, 58], [1, 255, 29]]
    assert labels_of(build(dict(type='fgclip2_mm.PascalContext60Dataset',
                                **common))).tolist() == label.tolist()


def test_synthetic_world_seg_maps(tmp_path_factory):
    world = synthetic_world(str(tmp_path_factory.getbasetemp()))
    dataset = build(dict(type='fgclip2_mm.FGCLIP2SyntheticSegDataset', data_root=world,
                         data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
                         pipeline=[dict(type='LoadImageFromFile')] + LOAD_8BIT +
                         [dict(type='PackSegInputs')]))
    assert len(dataset) == 16
    maps = [dataset[i]['data_samples'].gt_sem_seg.data[0].numpy().ravel() for i in range(4)]
    values = np.unique(np.concatenate(maps))
    assert values.min() == 0 and values.max() <= 16 and len(values) > 2


def test_iou_metric_with_the_16bit_ignore_index():
    metric = IoUMetric(ignore_index=65535)
    metric.dataset_meta = dict(classes=glue.ADE20K847Dataset.METAINFO['classes'])
    gt = torch.tensor([[[0, 846], [300, 65535]]])
    pred = torch.tensor([[[0, 846], [300, 5]]])  # the ignored pixel's prediction is free
    metric.process({}, [dict(pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt))])
    assert metric.compute_metrics(metric.results)['mIoU'] == 100.0
