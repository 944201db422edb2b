"""FineHARD / Chinese-pair datasets and mixtures on a small synthetic world: the raw-field
contract, JSON vs JSON-lines, file selection, image sizes, pickling, the mmengine Runner
dataloader with workers (box selection: test_finehard_path.py)."""
import json
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
from mmengine.registry import DATASETS, DefaultScope
from mmengine.runner import Runner
from PIL import Image

from fgclip2_mm.datasets import (FGCLIP2BilingualBatchSampler, FGCLIP2ChinesePairDataset,
                                 FGCLIP2DatasetMixture, FGCLIP2FineHARDDataset)
from fgclip2_mm.synthetic_world import generate_world

FIELDS = {'img_path', 'sample_idx', 'lang', 'caption_short', 'caption_long', 'regions',
          'dataset_id'}
REGION_FIELDS = {'bbox', 'short_expr', 'long_expr', 'hard_negatives'}


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp('world')
    generate_world(str(root), seed=3, num_train=24, num_val=16, workers=1)
    return str(root)


def _raw(world, name):
    with open(osp.join(world, 'annotations', name), encoding='utf-8') as f:
        return json.load(f)


def test_json_and_jsonl_give_the_same_contract(world):
    array = FGCLIP2FineHARDDataset('annotations/finehard_en_train.json', data_root=world)
    lines = FGCLIP2FineHARDDataset('annotations/finehard_en_train.jsonl', data_root=world)
    raw = _raw(world, 'finehard_en_train.json')
    assert len(array) == len(lines) == len(raw) == 24
    for idx, record in enumerate(raw):
        info = array.get_data_info(idx)
        assert info == lines.get_data_info(idx)
        assert set(info) == FIELDS and info['lang'] == 'en' and info['dataset_id'] == 0
        assert info['sample_idx'] == idx and osp.isabs(info['img_path'])
        assert info['img_path'] == osp.join(world, record['f_path'])
        assert info['caption_short'] == record['short_caption']  # no "a photo of " prefix
        assert info['caption_long'] == record['caption']
        assert len(info['regions']) == len(record['bbox_info'])  # every box (all valid)
        for region, box in zip(info['regions'], record['bbox_info']):
            assert set(region) == REGION_FIELDS
            assert region['bbox'] == box['bbox'][:4]
            assert all(0 <= v <= 1 for v in region['bbox'])
            assert region['short_expr'] == box['short_expr']
            assert region['long_expr'] == box['long_expr']
            assert region['hard_negatives'] == list(box['short_expr_negs'].values())
            assert len(region['hard_negatives']) == 10


def test_folders_globs_lists_and_indices(world):
    both = FGCLIP2FineHARDDataset('annotations', data_root=world,
                                  file_glob=('finehard_en_*.json', ))
    assert [osp.basename(f) for f in both.files] == ['finehard_en_train.json',
                                                     'finehard_en_val.json']
    assert len(both) == 40
    assert both.get_data_info(24)['img_path'].endswith('images/val/000000.jpg')
    listed = FGCLIP2FineHARDDataset(
        ['annotations/finehard_en_val.jsonl', osp.join(world, 'annotations/finehard_en_tr*.json')],
        data_root=world)
    assert listed.get_data_info(0) == dict(both.get_data_info(24), sample_idx=0)
    assert listed.get_data_info(16) == dict(both.get_data_info(0), sample_idx=16)
    subset = FGCLIP2FineHARDDataset('annotations/finehard_en_train.json', data_root=world,
                                    indices=[5, 2])
    assert len(subset) == 2 and subset.get_data_info(0)['img_path'] == \
        both.get_data_info(5)['img_path']
    assert len(FGCLIP2FineHARDDataset('annotations/finehard_en_train.json', data_root=world,
                                      indices=-3)) == 3
    with pytest.raises(IndexError, match='out of range for 2 samples'):
        subset.get_data_info(2)


def test_chinese_files(world):
    zh = FGCLIP2ChinesePairDataset('annotations/finehard_zh_train.json', data_root=world)
    raw = _raw(world, 'finehard_zh_train.json')
    info = zh.get_data_info(0)
    assert set(info) == FIELDS and info['lang'] == 'zh'
    assert info['caption_short'] == raw[0]['short_caption']
    assert info['regions'][0]['hard_negatives'] == list(
        raw[0]['bbox_info'][0]['short_expr_negs'].values())
    pairs = FGCLIP2ChinesePairDataset('annotations/cn_pairs_train.json', data_root=world)
    assert len(pairs) == 24 and pairs.get_data_info(3)['regions'] == []
    assert pairs.counter.notes['no_bbox_info'] == 24
    wrong = FGCLIP2FineHARDDataset('annotations/finehard_zh_train.json', data_root=world)
    assert len(wrong) == 0 and wrong.counter.counts == {'lang_mismatch': 24}


def test_mixture_keeps_language_and_dataset_id(world):
    mixture = FGCLIP2DatasetMixture([
        dict(type='FGCLIP2FineHARDDataset', ann_file='annotations/finehard_en_train.json',
             data_root=world),
        dict(type='fgclip2_mm.FGCLIP2ChinesePairDataset',
             ann_file='annotations/finehard_zh_val.json', data_root=world)])
    assert len(mixture) == 40
    np.testing.assert_array_equal(mixture.get_lang_codes(), [0] * 24 + [1] * 16)
    np.testing.assert_array_equal(mixture.get_dataset_ids(), [0] * 24 + [1] * 16)
    infos = [mixture.get_data_info(i) for i in range(40)]
    assert [i['sample_idx'] for i in infos] == list(range(40))
    assert [i['lang'] for i in infos] == ['en'] * 24 + ['zh'] * 16
    assert infos[30]['dataset_id'] == 1 and mixture.locate(30) == (1, 6)
    assert mixture[30] == infos[30]  # empty pipelines
    assert mixture.metainfo['langs'] == ['en', 'zh']
    with pytest.raises(ValueError, match='is a mixture'):
        FGCLIP2DatasetMixture([mixture])


def test_mixture_builds_its_children_in_our_scope_inside_a_host(world):
    cfg = dict(type='fgclip2_mm.FGCLIP2DatasetMixture', datasets=[dict(
        type='FGCLIP2FineHARDDataset', ann_file='annotations/finehard_en_val.json',
        data_root=world)])
    original = json.dumps(cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):  # an mmdet run
        mixture = DATASETS.build(cfg)
    assert len(mixture) == 16 and json.dumps(cfg) == original  # config not mutated


def test_image_sizes_from_records_or_headers(world, tmp_path):
    dataset = FGCLIP2FineHARDDataset('annotations/finehard_en_val.json', data_root=world)
    sizes = dataset.get_image_sizes()
    for idx in (0, 7, 15):
        with Image.open(dataset.get_data_info(idx)['img_path']) as image:
            assert tuple(sizes[idx]) == image.size[::-1]
    again = FGCLIP2FineHARDDataset('annotations/finehard_en_val.json', data_root=world)
    np.testing.assert_array_equal(again.get_image_sizes(), sizes)  # from the header cache
    records = _raw(world, 'finehard_en_val.json')[:3]
    for record in records:
        record.update(height=7, width=900)  # stored sizes win: no image is opened
    (tmp_path / 'sized.json').write_text(json.dumps(records))
    sized = FGCLIP2FineHARDDataset(str(tmp_path / 'sized.json'), data_root=world)
    assert sized.get_image_sizes().tolist() == [[7, 900]] * 3


def test_pickle_is_cheap_and_independent_of_size(world, tmp_path):
    record = _raw(world, 'finehard_en_train.json')[0]
    for count in (10, 5000):
        (tmp_path / f'r{count}.jsonl').write_text((json.dumps(record) + '\n') * count)
    small, large = (FGCLIP2FineHARDDataset(str(tmp_path / f'r{n}.jsonl'), data_root=world)
                    for n in (10, 5000))
    sizes = [len(pickle.dumps(d)) for d in (small, large)]
    assert abs(sizes[0] - sizes[1]) < 64 and sizes[1] < 32 * 1024
    clone = pickle.loads(pickle.dumps(large))
    assert len(clone) == 5000 and clone.get_data_info(4999) == large.get_data_info(4999)


def test_runner_dataloader_with_two_workers(world, tmp_path):
    shutil.copytree(osp.join(world, 'images'), tmp_path / 'images')
    shutil.copy(osp.join(world, 'annotations', 'finehard_en_train.jsonl'), tmp_path)
    (tmp_path / 'images/train/000004.jpg').write_bytes(b'corrupt')  # replaced, counted
    pipeline = [dict(type='fgclip2_mm.FGCLIP2LoadImage')]
    common = dict(data_root=str(tmp_path), pipeline=pipeline)
    dataloader = dict(
        batch_size=3, num_workers=2, collate_fn=list,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_sampler=dict(type='fgclip2_mm.FGCLIP2BilingualBatchSampler', drop_last=False,
                           bucket_by_budget=True),
        dataset=dict(type='fgclip2_mm.FGCLIP2DatasetMixture', datasets=[
            dict(type='fgclip2_mm.FGCLIP2FineHARDDataset',
                 ann_file='finehard_en_train.jsonl', **common),
            dict(type='fgclip2_mm.FGCLIP2ChinesePairDataset',
                 ann_file=osp.join(world, 'annotations', 'cn_pairs_val.json'), **common)]))
    loader = Runner.build_dataloader(dataloader, seed=0)
    assert isinstance(loader.batch_sampler, FGCLIP2BilingualBatchSampler)
    assert loader.batch_sampler.seed == loader.batch_sampler.sampler.seed == 0
    epochs = []
    for epoch in range(2):
        loader.batch_sampler.sampler.set_epoch(epoch)  # what DistSamplerSeedHook calls
        batches = list(loader)
        assert len(batches) == len(loader) == 14  # 40 samples, 3 per batch, 1 rank
        for batch in batches:
            assert len({item['lang'] for item in batch}) == 1
            assert all(item['img'].ndim == 3 for item in batch)
        epochs.append([item['sample_idx'] for batch in batches for item in batch])
    # Every index once per epoch, except sample 4, replaced by sample 5 of the same dataset.
    for order in epochs:
        assert sorted(order) == sorted([i for i in range(40) if i != 4] + [5])
    assert epochs[0] != epochs[1]
    english = loader.dataset.datasets[0]
    assert english.load_counts.totals() == {'unreadable_image': 2}  # one per epoch
