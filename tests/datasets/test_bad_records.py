"""Bad records, boxes, files and images: skipped and counted with one warning per reason,
or raised, by config; a bad image is replaced only under the counted 'replace' policy."""
import json

import numpy as np
import pytest
from PIL import Image

from fgclip2_mm.datasets import (BadRecordError, FGCLIP2ChinesePairDataset,
                                 FGCLIP2DatasetMixture, FGCLIP2FineHARDDataset)


def _box(bbox=(0.1, 0.1, 0.5, 0.5), **over):
    box = {'bbox': list(bbox) + [1.0], 'short_expr': 'a red circle',
           'long_expr': 'a red circle on the left', 'flag_short_neg': 1,
           'short_expr_negs': {str(i): f'a blue circle {i}' for i in range(10)}}
    box.update(over)
    return box


def _record(name='good.png', **over):
    record = {'f_path': name, 'caption': 'a long caption', 'short_caption': 'a short one',
              'bbox_info': [_box()]}
    record.update(over)
    return record


# (reason, bad line) per record-level problem; each line is one JSON-lines record.
BAD_LINES = [
    ('invalid_utf8', b'{"f_path": "good.png", "short_caption": "\xff\xfe"}'),
    ('invalid_json', b'{"f_path": "good.png", "short_caption": '),
    ('not_an_object', b'[1, 2]'),
    ('missing_key', json.dumps({'f_path': 'good.png', 'bbox_info': []}).encode()),
    ('bad_path', json.dumps(_record(name='')).encode()),
    ('bad_caption', json.dumps(_record(short_caption='  ')).encode()),
    ('bad_caption', json.dumps(_record(short_caption=5)).encode()),
    ('bad_caption', json.dumps(_record(caption=['not', 'a', 'str'])).encode()),
    ('bad_bbox_info', json.dumps(_record(bbox_info='x')).encode()),
    ('lang_mismatch', json.dumps(_record(is_cn=True)).encode()),
]
BOXES = [  # (expected problem or None, box)
    ('box_malformed', _box(bbox=(0.1, 0.2))),
    ('box_malformed', 'not a box'),
    ('box_malformed', _box(bbox=(0.1, float('nan'), 0.2, 0.3))),
    ('box_out_of_range', _box(bbox=(-0.5, 0.0, 0.5, 0.5))),
    ('box_inverted', _box(bbox=(0.6, 0.1, 0.2, 0.5))),
    ('box_zero_area', _box(bbox=(0.2, 0.2, 0.2, 0.5))),
    ('box_zero_area', _box(bbox=(1.0, 0.1, 1.005, 0.5))),  # zero after clamping
    ('box_bad_expr', _box(short_expr='')),
    ('negatives_wrong_count', _box(short_expr_negs={str(i): 'x' for i in range(9)})),
    ('negatives_wrong_count', _box(short_expr_negs=None)),
    ('negatives_malformed', _box(short_expr_negs={str(i): i for i in range(10)})),
    (None, _box(bbox=(-0.005, 0.0, 1.004, 0.5))),  # within tolerance: clamped
    (None, _box(flag_short_neg=0)),  # no negatives by design: not a problem
]


@pytest.fixture
def world(tmp_path):
    Image.new('RGB', (40, 30), 'red').save(tmp_path / 'good.png')
    buffer = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    Image.fromarray(buffer).save(tmp_path / 'full.jpg')
    data = (tmp_path / 'full.jpg').read_bytes()
    (tmp_path / 'truncated.jpg').write_bytes(data[:len(data) // 3])
    (tmp_path / 'not_an_image.png').write_text('hello')
    return tmp_path


def _write_jsonl(path, lines):
    path.write_bytes(b'\n'.join(lines) + b'\n')
    return str(path)


def _bad_file(world):
    boxes = [box for _, box in BOXES]
    lines = [json.dumps(_record()).encode()] + [line for _, line in BAD_LINES]
    lines += [json.dumps(_record(bbox_info=boxes, caption=None)).encode()]
    lines += [b'{"f_path": "good.png", "short_caption": "cut']  # unterminated
    path = world / 'bad.jsonl'
    path.write_bytes(b'\n'.join(lines))  # no final newline: the last record is truncated
    return str(path)


def _expected_counts():
    expected = {}
    for reason, _ in BAD_LINES:
        expected[reason] = expected.get(reason, 0) + 1
    for reason, _ in BOXES:
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    expected['truncated_record'] = 1
    return expected


def test_every_problem_is_counted_and_warned_once(world, messages):
    path = _bad_file(world)
    dataset = FGCLIP2FineHARDDataset(path, data_root=str(world), cache_index=False)
    assert len(dataset) == 2  # the good record and the one with mixed boxes
    assert dict(dataset.counter.counts) == _expected_counts()
    warnings = [m for m in messages if 'further cases' in m]
    assert len(warnings) == len(_expected_counts())  # one per reason, not per case
    for reason in _expected_counts():
        (line, ) = [m for m in warnings if f': {reason} at ' in m]
        assert path in line and 'record ' in line
    assert 'invalid_utf8 at ' + path + ': record 1' in ' '.join(warnings)
    summary = [m for m in messages if 'samples from 1 file(s)' in m]
    assert len(summary) == 1 and 'box_zero_area=2' in summary[0]
    assert 'no_long_caption=1' in summary[0]
    kept = dataset.get_data_info(1)  # every valid box (FGCLIP2SampleRegions selects)
    assert [r['bbox'] for r in kept['regions'][:4]] == [[0.1, 0.1, 0.5, 0.5]] * 3 + [
        [0.0, 0.0, 1.0, 0.5]]  # the fourth one clamped within the tolerance
    assert kept['caption_long'] is None
    # negatives_* boxes stay for the region loss, without hard negatives.
    assert [r['hard_negatives'] is None for r in kept['regions']] == \
        [True, True, True, False, True]


def test_counts_replayed_from_the_validation_cache(world, messages):
    path = _bad_file(world)
    first = FGCLIP2FineHARDDataset(path, data_root=str(world))
    messages.clear()
    second = FGCLIP2FineHARDDataset(path, data_root=str(world))
    assert second.counter.counts == first.counter.counts and len(second) == 2
    assert len([m for m in messages if 'further cases' in m]) == len(_expected_counts())
    with pytest.raises(BadRecordError, match='invalid_utf8'):
        FGCLIP2FineHARDDataset(path, data_root=str(world), on_bad_record='raise')


def test_raise_policy_names_file_and_record(world):
    path = _write_jsonl(world / 'r.jsonl', [json.dumps(_record()).encode(),
                                            json.dumps(_record(short_caption='')).encode()])
    with pytest.raises(BadRecordError, match=r'r\.jsonl: record 1: bad_caption: '
                                             r'short_caption must be a non-empty str'):
        FGCLIP2FineHARDDataset(path, data_root=str(world), on_bad_record='raise',
                               cache_index=False)
    box = _box(short_expr_negs={'0': 'only one'})
    path = _write_jsonl(world / 'n.jsonl', [json.dumps(_record(bbox_info=[box])).encode()])
    with pytest.raises(BadRecordError, match='negatives_wrong_count: box 0: 1 hard negatives'):
        FGCLIP2FineHARDDataset(path, data_root=str(world), on_bad_record='raise',
                               cache_index=False)


def test_truncated_and_trailing_json_arrays(world, messages):
    records = [_record(), _record(short_caption='second')]
    text = json.dumps(records)
    (world / 't.json').write_text(text[:-10])  # cut inside the second record
    dataset = FGCLIP2FineHARDDataset(str(world / 't.json'), data_root=str(world))
    assert len(dataset) == 1 and dataset.counter.counts == {'truncated_file': 1}
    assert any('truncated_file at ' in m and 'last element was dropped' in m for m in messages)
    (world / 'e.json').write_text(text + '\n{"x": 1}')
    dataset = FGCLIP2FineHARDDataset(str(world / 'e.json'), data_root=str(world))
    assert len(dataset) == 2 and dataset.counter.counts == {'trailing_data': 1}
    (world / 'empty.json').write_text('')
    with pytest.raises(BadRecordError, match='empty_file'):
        FGCLIP2FineHARDDataset(str(world / 'empty.json'), on_bad_record='raise')


def test_bad_images_are_replaced_counted_and_logged(world, messages):
    names = ['good.png', 'missing.png', 'truncated.jpg', 'not_an_image.png', 'full.jpg']
    path = _write_jsonl(world / 'img.jsonl', [
        json.dumps(_record(name=n, short_caption=n)).encode() for n in names])
    kwargs = dict(data_root=str(world), pipeline=[dict(type='fgclip2_mm.FGCLIP2LoadImage')])
    dataset = FGCLIP2FineHARDDataset(path, **kwargs)
    assert [dataset[i]['caption_short'] for i in range(5)] == [
        'good.png', 'full.jpg', 'full.jpg', 'full.jpg', 'full.jpg']  # next index, same set
    assert dataset[4]['img'].shape == (64, 64, 3)
    assert dataset.load_counts.totals() == {'missing_image': 1, 'unreadable_image': 5}
    warned = [m for m in messages if 'replaced by sample' in m]
    assert len(warned) == 2 and 'missing.png' in warned[0] and 'truncated.jpg' in warned[1]
    assert dataset.log_load_summary(epoch=0) == {'missing_image': 1, 'unreadable_image': 5}
    assert 'load-time problems in epoch 0: missing_image=1, unreadable_image=5' in messages[-1]
    assert dataset.log_load_summary(epoch=1) == {}  # only what is new since the last call
    strict = FGCLIP2FineHARDDataset(path, on_load_error='raise', **kwargs)
    with pytest.raises(BadRecordError, match=r'img\.jsonl: record 2: unreadable_image: .*'
                                             r'truncated\.jpg') as info:
        strict[2]
    assert isinstance(info.value.__cause__, OSError)
    limited = FGCLIP2FineHARDDataset(path, max_refetch=1, **kwargs)
    with pytest.raises(RuntimeError, match='2 consecutive samples from index 1 failed'):
        limited[1]


def test_lazy_validation_counts_at_load_time(world):
    lines = [json.dumps(_record()).encode(), json.dumps(_record(short_caption='')).encode(),
             json.dumps(_record(bbox_info=[_box(bbox=(0.5, 0.5, 0.1, 0.9)), _box()])).encode()]
    path = _write_jsonl(world / 'lazy.jsonl', lines)
    dataset = FGCLIP2FineHARDDataset(path, data_root=str(world), validate_on_init=False)
    assert len(dataset) == 3  # nothing checked before loading
    with pytest.raises(BadRecordError, match='record 1: bad_caption'):
        dataset.get_data_info(1)
    assert dataset[1]['sample_idx'] == 2  # replaced by the next record
    assert len(dataset[1]['regions']) == 1
    assert dataset.load_counts.totals() == {'bad_caption': 2, 'box_inverted': 2}


def test_chinese_boxes_follow_keep_boxes(world):
    record = _record(is_cn=True, bbox_info=[_box(), _box(bbox=(0.9, 0.1, 0.2, 0.2))])
    path = _write_jsonl(world / 'zh.jsonl', [json.dumps(record).encode(),
                                             json.dumps(_record(is_cn=True)).encode()])
    kept = FGCLIP2ChinesePairDataset(path, data_root=str(world), cache_index=False)
    assert [len(kept.get_data_info(i)['regions']) for i in range(2)] == [1, 1]
    assert kept.counter.counts == {'box_inverted': 1}
    dropped = FGCLIP2ChinesePairDataset(path, data_root=str(world), keep_boxes=False,
                                        cache_index=False)
    assert [dropped.get_data_info(i)['regions'] for i in range(2)] == [[], []]
    assert dropped.counter.notes['boxes_ignored'] == 3 and not dropped.counter.counts


def test_missing_paths_are_listed_with_how_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        FGCLIP2FineHARDDataset(['jsonfiles', 'extra/*.jsonl'], data_root=str(tmp_path),
                               data_prefix=dict(img_path='grit-12m'))
    text = str(info.value)
    for needle in (str(tmp_path / 'jsonfiles'), 'extra/*.jsonl (no file matches',
                   str(tmp_path / 'grit-12m') + ' (image folder)', 'qihoo360/FineHARD',
                   'img2dataset'):
        assert needle in text
    (tmp_path / 'jsonfiles').mkdir()
    with pytest.raises(FileNotFoundError, match=r"without files matching \['\*.json'"):
        FGCLIP2FineHARDDataset('jsonfiles', data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='is_cn'):
        FGCLIP2ChinesePairDataset('cn_pairs', data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:  # a mixture names every missing path
        FGCLIP2DatasetMixture([
            dict(type='FGCLIP2FineHARDDataset', ann_file='en', data_root=str(tmp_path)),
            dict(type='FGCLIP2ChinesePairDataset', ann_file='zh', data_root=str(tmp_path))])
    text = str(info.value)
    assert str(tmp_path / 'en') in text and str(tmp_path / 'zh') in text
    assert 'qihoo360/FineHARD' in text and 'is_cn' in text


def test_option_validation():
    for kwargs, match in ((dict(on_bad_record='ignore'), 'on_bad_record must be one of'),
                          (dict(on_load_error='black'), 'on_load_error must be one of'),
                          (dict(box_selection='best'), 'box_selection.*retired'),
                          (dict(max_boxes=-1), 'max_boxes.*retired'),
                          (dict(box_tolerance=2), 'box_tol'),
                          (dict(lang='zh'), 'FGCLIP2ChinesePairDataset')):
        with pytest.raises(ValueError, match=match):
            FGCLIP2FineHARDDataset('x.json', lazy_init=True, **kwargs)
