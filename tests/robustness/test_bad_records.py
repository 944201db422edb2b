"""Bad annotation records and files -> the counted reason (build time, and load time with
``validate_on_init=False``), or the message; never a crash deep inside the dataset."""
import json

import pytest
from PIL import Image

from fgclip2_mm.datasets import (BadRecordError, FGCLIP2ChinesePairDataset,
                                 FGCLIP2FineHARDDataset)
from fgclip2_mm.datasets.record_validation import RECORD_REASONS

DEEP = 100_000  # far beyond the recursion limit of the JSON decoder


def _box(**over):
    box = {'bbox': [0.1, 0.1, 0.5, 0.5], 'short_expr': 'a red circle',
           'long_expr': 'a red circle on the left', 'flag_short_neg': 1,
           'short_expr_negs': {str(i): f'a blue circle {i}' for i in range(10)}}
    box.update(over)
    return box


def _record(**over):
    record = {'f_path': 'good.png', 'caption': 'a long caption', 'short_caption': 'a cat',
              'bbox_info': [_box()]}
    record.update(over)
    return record


def _line(record) -> bytes:
    return json.dumps(record).encode()


NEGS_WITH_POSITIVE = {str(i): 'A Red Circle ' if i == 3 else f'a blue circle {i}'
                      for i in range(10)}
# (id, dataset class, bad JSON-lines record, expected reason). Record-level reasons drop the
# record; box-level ones drop the box; negatives_* keep the box without hard negatives.
ROWS = [
    ('deep_array', 'en', b'[' * DEEP + b']' * DEEP, 'too_deep'),
    ('deep_field', 'en', b'{"f_path": "good.png", "short_caption": ' + b'[' * DEEP +
     b']' * DEEP + b'}', 'too_deep'),
    ('is_cn_true_in_en', 'en', _line(_record(is_cn=True)), 'lang_mismatch'),
    ('is_cn_false_in_zh', 'zh', _line(_record(is_cn=False)), 'lang_mismatch'),
    ('is_cn_string', 'zh', _line(_record(is_cn='true')), 'bad_flag'),
    ('negative_equals_positive', 'en',
     _line(_record(bbox_info=[_box(short_expr_negs=NEGS_WITH_POSITIVE)])),
     'negatives_equal_positive'),
    ('flag_short_neg_string', 'en', _line(_record(bbox_info=[_box(flag_short_neg='0')])),
     'negatives_bad_flag'),
    # already handled before this matrix: they must stay so
    ('invalid_utf8', 'en', b'{"f_path": "good.png", "short_caption": "\xff\xfe"}',
     'invalid_utf8'),
    ('invalid_json', 'en', b'{"f_path": "good.png", "short_caption": ', 'invalid_json'),
    ('not_an_object', 'en', b'[1, 2]', 'not_an_object'),
    ('missing_key', 'en', _line({'f_path': 'good.png', 'bbox_info': []}), 'missing_key'),
    ('bad_path', 'en', _line(_record(f_path='')), 'bad_path'),
    ('blank_caption', 'en', _line(_record(short_caption='  ')), 'bad_caption'),
    ('caption_not_str', 'en', _line(_record(caption=['a', 'list'])), 'bad_caption'),
    ('bbox_info_not_list', 'en', _line(_record(bbox_info='x')), 'bad_bbox_info'),
    ('box_3_numbers', 'en', _line(_record(bbox_info=[_box(bbox=[0.1, 0.2, 0.3])])),
     'box_malformed'),
    ('box_nan', 'en', b'{"f_path": "good.png", "short_caption": "a", "bbox_info": [{"bbox": '
     b'[0.1, NaN, 0.5, 0.5], "short_expr": "x"}]}', 'box_malformed'),
    ('box_outside', 'en', _line(_record(bbox_info=[_box(bbox=[-0.5, 0, 0.5, 0.5])])),
     'box_out_of_range'),
    ('box_inverted', 'en', _line(_record(bbox_info=[_box(bbox=[0.6, 0.1, 0.2, 0.5])])),
     'box_inverted'),
    ('box_zero_area', 'en', _line(_record(bbox_info=[_box(bbox=[0.2, 0.2, 0.2, 0.5])])),
     'box_zero_area'),
    ('box_blank_expr', 'en', _line(_record(bbox_info=[_box(short_expr='')])), 'box_bad_expr'),
    ('nine_negatives', 'en', _line(_record(bbox_info=[_box(
        short_expr_negs={str(i): 'x' for i in range(9)})])), 'negatives_wrong_count'),
    ('negative_not_str', 'en', _line(_record(bbox_info=[_box(
        short_expr_negs={str(i): i for i in range(10)})])), 'negatives_malformed'),
]
DATASETS = {'en': FGCLIP2FineHARDDataset, 'zh': FGCLIP2ChinesePairDataset}


@pytest.fixture
def world(tmp_path):
    Image.new('RGB', (40, 30), 'red').save(tmp_path / 'good.png')
    return tmp_path


def _file(world, lines, name='ann.jsonl'):
    path = world / name
    path.write_bytes(b'\n'.join(lines) + b'\n')
    return str(path)


def _good(lang):
    return _line(_record(is_cn=True) if lang == 'zh' else _record())


@pytest.mark.parametrize('row_id, lang, line, reason', ROWS, ids=[r[0] for r in ROWS])
def test_bad_record_is_counted_at_build_time(world, messages, row_id, lang, line, reason):
    path = _file(world, [_good(lang), line, _good(lang).replace(b'a cat', b'a dog')])
    dataset = DATASETS[lang](path, data_root=str(world), cache_index=False)
    assert dataset.counter.counts == {reason: 1}
    warning = [m for m in messages if f': {reason} at {path}: record 1' in m]
    assert len(warning) == 1, messages
    assert len(warning[0]) < 1000  # a huge or deep value is never dumped into the log
    assert len(dataset) == (2 if reason in RECORD_REASONS else 3)  # else only a box
    if reason.startswith('negatives_'):  # the box stays for the region loss, no negatives
        (region, ) = dataset.get_data_info(1)['regions']
        assert region['hard_negatives'] is None
    with pytest.raises(BadRecordError, match=f'record 1: {reason}: '):
        DATASETS[lang](path, data_root=str(world), cache_index=False, on_bad_record='raise')


@pytest.mark.parametrize('row_id, lang, line, reason', ROWS, ids=[r[0] for r in ROWS])
def test_bad_record_is_replaced_and_counted_at_load_time(world, row_id, lang, line, reason):
    path = _file(world, [_good(lang), line, _good(lang).replace(b'a cat', b'a dog')])
    dataset = DATASETS[lang](path, data_root=str(world), cache_index=False,
                             validate_on_init=False)
    assert len(dataset) == 3  # nothing checked before loading
    sample = dataset[1]
    assert dataset.load_counts.totals() == {reason: 1}
    if reason.startswith(('box_', 'negatives_')):  # the record itself is usable
        assert sample['sample_idx'] == 1
    else:  # replaced by the next record of the same dataset
        assert sample['sample_idx'] == 2 and sample['caption_short'] == 'a dog'
    strict = DATASETS[lang](path, data_root=str(world), cache_index=False,
                            validate_on_init=False, on_load_error='raise',
                            on_bad_record='raise')
    with pytest.raises(BadRecordError, match=f'record 1: {reason}: '):
        strict[1]


def test_flags_are_read_by_value(world):
    """``is_cn: false`` is an English record; ``flag_short_neg`` 0/1/true/false all work."""
    lines = [_line(_record(is_cn=False)), _line(_record(bbox_info=[_box(flag_short_neg=0)])),
             _line(_record(bbox_info=[_box(flag_short_neg=True)]))]
    dataset = FGCLIP2FineHARDDataset(_file(world, lines), data_root=str(world),
                                     cache_index=False)
    assert len(dataset) == 3 and not dataset.counter.counts
    negatives = [dataset.get_data_info(i)['regions'][0]['hard_negatives'] for i in range(3)]
    assert negatives[0] is not None and negatives[1] is None and len(negatives[2]) == 10


def test_duplicates_are_counted_reported_and_kept(world, messages):
    a, b = _line(_record()), _line(_record(short_caption='other'))
    path = _file(world, [a, b, a, b' ' + a + b' ', b, _line(_record(caption='changed'))])
    dataset = FGCLIP2FineHARDDataset(path, data_root=str(world), cache_index=False)
    assert dataset.counter.counts == {'duplicate_record': 3} and len(dataset) == 6
    (warning, ) = [m for m in messages if 'duplicate_record at' in m]
    assert f'{path}: record 2: byte-identical to record 0' in warning
    assert 'duplicate_record=3' in [m for m in messages if 'samples from' in m][0]
    # kept (the reference trains on every copy) and never a reason to stop under 'raise'
    strict = FGCLIP2FineHARDDataset(path, data_root=str(world), on_bad_record='raise')
    again = FGCLIP2FineHARDDataset(path, data_root=str(world))  # replayed from the cache
    assert len(strict) == len(again) == 6
    assert again.counter.counts == {'duplicate_record': 3}


# (id, file content, expected reason, text in the warning, samples)
FILES = [
    ('empty_array', b'[]', 'empty_file', 'the JSON array holds no records ([])', 0),
    ('blank_array', b'[ \n ]', 'empty_file', 'holds no records', 0),
    ('zero_bytes', b'', 'empty_file', 'the file holds no records', 0),
    ('pretty_printed_object', json.dumps(_record(), indent=2).encode(), 'single_json_object',
     'one pretty-printed JSON object over', 0),
    ('truncated_array', json.dumps([_record(), _record(caption='x')]).encode()[:-10],
     'truncated_file', 'the last element was dropped', 1),
    ('trailing_data', json.dumps([_record()]).encode() + b'\n{"x": 1}', 'trailing_data',
     'non-blank bytes after the JSON array', 1),
]


@pytest.mark.parametrize('row_id, content, reason, text, samples', FILES,
                         ids=[r[0] for r in FILES])
def test_bad_file_is_counted_with_a_message(world, messages, row_id, content, reason, text,
                                            samples):
    path = world / 'ann.json'
    path.write_bytes(content)
    dataset = FGCLIP2FineHARDDataset(str(path), data_root=str(world), cache_index=False)
    assert len(dataset) == samples and dataset.counter.counts == {reason: 1}
    assert any(f'{reason} at {path}' in m and text in m for m in messages), messages
    with pytest.raises(BadRecordError, match=reason):
        FGCLIP2FineHARDDataset(str(path), data_root=str(world), cache_index=False,
                               on_bad_record='raise')


def test_jsonl_with_a_broken_first_line_is_not_a_single_object(world):
    """Only a whole balanced object is reported as pretty-printed; a JSON-lines file whose
    first line is broken keeps its good lines."""
    path = _file(world, [b'{"f_path": ', _line(_record()), _line(_record(caption='b'))])
    dataset = FGCLIP2FineHARDDataset(path, data_root=str(world), cache_index=False)
    assert len(dataset) == 2 and dataset.counter.counts == {'invalid_json': 1}
