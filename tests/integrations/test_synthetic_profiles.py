"""Every synthetic config reads its classes from the world: a tiny world of each profile is
generated, and every synthetic detection, segmentation, evaluation and stage-2 config
builds its datasets (and the detection / segmentation heads get their vocabulary) on it."""
import glob
import json
import os.path as osp

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

import fgclip2_mm  # noqa: E402,F401  (mmdet:: / mmseg:: bases without pkg_resources)
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from fgclip2_mm.synthetic_world import PROFILES, generate_world, get_profile  # noqa: E402
from fgclip2_mm.testing import write_tiny_checkpoint  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET = sorted(glob.glob(osp.join(ROOT, 'projects', 'fgclip2_ovdet', 'configs', 'synthetic',
                                '*.py')))
SEG = sorted(glob.glob(osp.join(ROOT, 'projects', 'fgclip2_ovseg', 'configs', 'synthetic',
                                '*.py')))
EVAL = sorted(glob.glob(osp.join(ROOT, 'configs', 'eval', 'synthetic', '*.py')))


@pytest.fixture(scope='module', params=sorted(PROFILES))
def world(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp(request.param) / 'world')
    generate_world(out, seed=0, num_train=10, num_val=8, workers=1, profile=request.param)
    ckpt = write_tiny_checkpoint(str(tmp_path_factory.mktemp('ckpt')), f'{out}/tokenizer')
    with open(osp.join(out, 'world_meta.json'), encoding='utf-8') as f:
        return dict(root=out, ckpt=ckpt, meta=json.load(f), profile=request.param)


def test_world_meta_records_the_profile(world):
    meta, profile = world['meta'], get_profile(world['profile'])
    assert meta['profile']['name'] == profile.name
    assert meta['classes'] == list(profile.category_names)
    assert meta['classes_zh'] == list(profile.category_names_zh)
    assert meta['base_classes'] + meta['novel_classes'] == [
        c for c in meta['classes'] if c in meta['base_classes']] + [
        c for c in meta['classes'] if c in meta['novel_classes']]
    assert len(meta['classes']) == {'legacy': 16, 'calibrated': 8}[profile.name]
    sizes = {s['name']: s['min_share_of_short_side'] for s in meta['vocabulary']['sizes']}
    assert sizes['small'] == {'legacy': 0.14, 'calibrated': 0.26}[profile.name]


@pytest.mark.parametrize('path', DET, ids=osp.basename)
def test_detection_configs_take_the_world_classes(path, world):
    from mmdet.registry import DATASETS, MODELS

    from fgclip2_mm.integrations.mmdet import vocabulary_from_metainfo
    meta = world['meta']
    cfg = Config.fromfile(path)
    for name in ('train_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(dict(cfg[name].dataset.to_dict(),
                                      data_root=world['root'] + '/'))
        assert list(dataset.metainfo['classes']) == meta['classes']
        assert list(dataset.metainfo['classes_zh']) == meta['classes_zh']
        assert list(dataset.metainfo['novel_classes']) == meta['novel_classes']
        labels = [i['bbox_label'] for k in range(len(dataset))
                  for i in dataset.get_data_info(k)['instances']]
        assert labels and max(labels) < len(meta['classes'])
        if name == 'train_dataloader':  # base boxes only
            novel = {meta['classes'].index(c) for c in meta['novel_classes']}
            assert not novel & set(labels)
    cfg.model.backbone.checkpoint = world['ckpt']
    cfg.model.neck.in_channels = [32] * 4
    cfg.model.roi_head.bbox_head.text_embeddings.update(
        checkpoint=world['ckpt'], tokenizer=world['ckpt'], cache_dir=None)
    model = MODELS.build(cfg.model)
    model.set_vocabulary(**vocabulary_from_metainfo(dataset.metainfo))
    head = model.roi_head.bbox_head
    assert head.fc_cls.class_embeds.shape[0] == len(meta['classes'])
    assert int(head.is_base.sum()) == len(meta['base_classes'])


@pytest.mark.parametrize('path', SEG, ids=osp.basename)
def test_segmentation_configs_take_the_world_classes(path, world):
    from mmseg.registry import DATASETS, MODELS

    from fgclip2_mm.integrations.mmseg.testing import TINY_HEAD
    meta = world['meta']
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(model=dict(clip=world['ckpt'], tokenizer=world['ckpt'],
                                        cache_dir=False, vocabulary=dict(world=world['root']))))
    if 'catseg' in path:
        cfg.model.decode_head = dict(cfg.model.decode_head, **TINY_HEAD)
    with DefaultScope.overwrite_default_scope('mmseg'):
        for name in ('train_dataloader', 'test_dataloader'):
            if cfg.get(name) is None:
                continue
            dataset = DATASETS.build(dict(cfg[name].dataset.to_dict(), data_root=world['root']))
            assert list(dataset.metainfo['classes']) == ['background'] + meta['classes']
            assert len(dataset.metainfo['palette']) == len(meta['classes']) + 1
            labels = dataset[0]['data_samples'].gt_sem_seg.data.unique().tolist()
            assert max(v for v in labels if v != 255) <= len(meta['classes'])  # 255: padding
        model = MODELS.build(cfg.model)
    vocab = model.vocabulary()
    assert vocab.names_in('en') == ['background'] + meta['classes']
    assert vocab.names_in('zh')[1:] == meta['classes_zh']


@pytest.mark.parametrize('path', EVAL, ids=osp.basename)
def test_evaluation_configs_take_the_world_classes(path, world):
    from fgclip2_mm.registry import DATASETS
    meta = world['meta']
    cfg = Config.fromfile(path)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset.to_dict(),
                                  data_root=world['root'] + '/'))
    assert len(dataset) > 0
    name = osp.basename(path)
    if name.startswith('box-cls'):
        classes = dataset.metainfo['classes']
        assert len(classes) == 11 * len(meta['classes'])
        shapes = meta['classes'] if name.endswith('_en.py') else meta['classes_zh']
        assert all(any(c.endswith(s) for s in shapes) for c in classes)
    elif name.startswith('zeroshot-cls'):
        assert list(dataset.metainfo['classes']) == (
            meta['classes'] if name.endswith('_en.py') else meta['classes_zh'])


def test_stage2_config_builds_on_the_world(world):
    from fgclip2_mm.quickstart import pretrain_stage
    from fgclip2_mm.quickstart.pipeline import QuickstartConfig
    from fgclip2_mm.registry import DATASETS
    cfg = pretrain_stage.build_config(
        QuickstartConfig(data_root=world['root'], profile=world['profile']),
        osp.join(world['root'], 'work'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 2 * world['meta']['num_train']  # English and Chinese records
