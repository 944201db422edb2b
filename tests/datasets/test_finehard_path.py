"""One FineHARD path: the dataset yields every validated box, ``FGCLIP2SampleRegions`` alone
selects boxes and hard slots (one hard-negative count, the transform's), the retired dataset
options raise with the transform setting to use, and the configs use one name."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from fgclip2_mm.datasets import FGCLIP2ChinesePairDataset, FGCLIP2FineHARDDataset
from fgclip2_mm.synthetic_world import generate_world
from fgclip2_mm.datasets.transforms import FGCLIP2SampleRegions

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EN = 'annotations/finehard_en_train.json'


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp('world')
    generate_world(str(root), seed=3, num_train=24, num_val=16, workers=1)
    return str(root)


def _many(world, at_least=6):
    with open(osp.join(world, EN), encoding='utf-8') as f:
        raw = json.load(f)
    return next(i for i, r in enumerate(raw) if len(r['bbox_info']) >= at_least), raw


def _dataset(world, regions=None, **kwargs):
    pipeline = [] if regions is None else [regions]
    return FGCLIP2FineHARDDataset(EN, data_root=world, pipeline=pipeline, cache_index=False,
                                  **kwargs)


def test_the_dataset_yields_every_box_and_the_transform_selects(world):
    many, raw = _many(world)
    exprs = [b['short_expr'] for b in raw[many]['bbox_info']]
    info = _dataset(world).get_data_info(many)
    assert [r['short_expr'] for r in info['regions']] == exprs
    first = _dataset(world, FGCLIP2SampleRegions(max_boxes=2, expr_choice='short'))[many]
    assert first['region_texts'] == exprs[:2]
    draws = set()
    random = _dataset(world, FGCLIP2SampleRegions(max_boxes=3, box_selection='random',
                                                  expr_choice='short'))
    np.random.seed(0)
    for _ in range(20):
        draw = tuple(random[many]['region_texts'])
        assert len(draw) == 3 and list(draw) == sorted(draw, key=exprs.index)
        draws.add(draw)
    assert len(draws) > 1  # a new subset per load


@pytest.mark.parametrize('options, advice', [
    (dict(box_selection='random'), "FGCLIP2SampleRegions', box_selection='random')"),
    (dict(max_boxes=2), "FGCLIP2SampleRegions', max_boxes=2)"),
    (dict(max_boxes=6, box_selection='random'),
     "FGCLIP2SampleRegions', max_boxes=6, box_selection='random')"),
])
def test_retired_dataset_box_options_raise_with_the_transform_to_set(world, options, advice):
    with pytest.raises(ValueError, match='dataset options are retired') as info:
        _dataset(world, FGCLIP2SampleRegions(), **options)
    assert advice in str(info.value), str(info.value)
    assert 'remove ' + ', '.join(options) in str(info.value)


def test_captions_only_keeps_working(world):
    stage1 = _dataset(world, FGCLIP2SampleRegions(max_boxes=0))
    assert 'region_boxes' not in stage1[0] and stage1[0]['short_text']


def test_one_hard_negative_count_the_transforms(world):
    """The dataset validates the count the transform lays out: 9 here, so the world's
    10-negative boxes are counted and yield no hard slot; a second count is refused."""
    nine = _dataset(world, FGCLIP2SampleRegions(num_negatives=9))
    assert nine.schema.num_negatives == 9
    assert nine.counter.counts['negatives_wrong_count'] > 0
    assert not nine[0]['hard_valid'].any() and nine[0]['region_valid'].any()
    assert _dataset(world, FGCLIP2SampleRegions()).schema.num_negatives == 10
    assert _dataset(world).schema.num_negatives == 10  # no transform: the default
    with pytest.raises(ValueError, match=r'num_negatives=10 differs from the pipeline\'s '
                                         r'FGCLIP2SampleRegions\(num_negatives=9\)'):
        _dataset(world, FGCLIP2SampleRegions(num_negatives=9), num_negatives=10)


def test_bad_values_never_reach_a_slot(tmp_path):
    """Validated once, by the dataset: an inverted box is dropped, a blank caption drops the
    record, nine negatives leave the box without a hard slot."""
    negatives = {str(i): f'a blue circle {i}' for i in range(10)}
    box = dict(bbox=[0.1, 0.1, 0.5, 0.5], short_expr='a red circle', flag_short_neg=1,
               short_expr_negs=negatives)
    records = [
        dict(f_path='a.png', short_caption='  ', bbox_info=[box]),
        dict(f_path='b.png', short_caption='a circle', caption='a red circle on grass',
             bbox_info=[dict(box, bbox=[0.5, 0.1, 0.2, 0.3]), box,
                        dict(box, short_expr_negs=dict(list(negatives.items())[:9]))]),
    ]
    path = tmp_path / 'r.jsonl'
    path.write_text('\n'.join(json.dumps(r) for r in records))
    dataset = FGCLIP2FineHARDDataset(str(path), data_root=str(tmp_path), cache_index=False,
                                     pipeline=[FGCLIP2SampleRegions(expr_choice='short')])
    assert len(dataset) == 1 and dict(dataset.counter.counts) == {
        'bad_caption': 1, 'box_inverted': 1, 'negatives_wrong_count': 1}
    out = dataset[0]
    assert out['region_valid'].tolist() == [True, True, False, False]
    assert out['hard_valid'].tolist() == [True, False, False, False]
    np.testing.assert_allclose(out['region_boxes'][0], [0.1, 0.1, 0.5, 0.5])


def test_chinese_pairs_share_the_path(world):
    zh = FGCLIP2ChinesePairDataset('annotations/finehard_zh_train.json', data_root=world,
                                   pipeline=[FGCLIP2SampleRegions(box_selection='random')],
                                   cache_index=False)
    out = zh[0]
    assert out['short_text'] == zh.get_data_info(0)['caption_short']  # no prefix
    assert out['region_valid'].any() and out['hard_valid'].any()


def _dicts(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _dicts(item)


def test_configs_use_one_name_on_the_transform():
    paths = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))
    assert len(paths) >= 5
    selections = {}
    for path in paths:
        for item in _dicts(Config.fromfile(path).to_dict()):
            if str(item.get('type', '')).endswith('Dataset'):
                assert not {'max_boxes', 'box_selection'} & set(item), (path, item['type'])
            if item.get('type') == 'FGCLIP2SampleRegions':
                assert not {'box_sampling', 'lowercase'} & set(item), path
                selections[osp.basename(path)] = item.get('box_selection', 'first')
    assert selections['fgclip2_stage2_synthetic.py'] == 'random'  # moved from the datasets
    assert selections['fgclip2_stage2.py'] == 'first'
