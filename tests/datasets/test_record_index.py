"""RecordIndex: byte spans of JSON-array / JSON-lines records, lazy reads, cache, pickling."""
import json
import os
import pickle
import random

import numpy as np
import pytest

from fgclip2_mm.datasets.json_scan import scan_json_array, scan_jsonl, sniff_format
from fgclip2_mm.datasets.record_index import (RecordDecodeError, RecordIndex, SharedArray,
                                              resolve_files)

# Characters that break naive scanners: quotes, backslash runs, brackets and commas in
# strings, multi-byte UTF-8, newlines.
_ALPHABET = ['a', '\\', '"', '[', ']', '{', '}', ',', ' ', '中', '\n', '\\\\', 'é', '\t']


def _text(rng: random.Random) -> str:
    return ''.join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 10)))


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randint(0, 6 if depth < 3 else 3)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.randint(-5, 5)
    if kind == 2:
        return None
    if kind == 3:
        return rng.random()
    if kind == 4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _records(seed: int, num: int) -> list:
    rng = random.Random(seed)
    return [{'k' + _text(rng): _random_value(rng) for _ in range(rng.randint(1, 3))}
            for _ in range(num)]


def _parse(path, spans):
    raw = open(path, 'rb').read()
    return [json.loads(raw[s:e].decode('utf-8')) for s, e in spans]


@pytest.mark.parametrize('chunk_size', [1, 2, 3, 7, 64, 1 << 22])
def test_array_scanner_matches_json_load(tmp_path, chunk_size):
    for trial in range(12):
        records = _records(trial, trial % 5 + 1)
        path = tmp_path / f'a{trial}.json'
        path.write_text(json.dumps(records, ensure_ascii=trial % 2 == 0,
                                   indent=None if trial % 3 else 1), encoding='utf-8')
        spans, info = scan_json_array(str(path), chunk_size)
        assert _parse(path, spans) == json.load(open(path, encoding='utf-8'))
        assert not any(info.values())


def test_backslash_runs_across_chunk_borders(tmp_path):
    # An even run of backslashes before a quote does not escape it; an odd one does.
    records = [{'s': '\\' * n + '"' + '\\' * n, 't': ']' * n} for n in range(7)]
    path = tmp_path / 'b.json'
    path.write_text(json.dumps(records), encoding='utf-8')
    for chunk_size in range(1, 12):
        assert _parse(path, scan_json_array(str(path), chunk_size)[0]) == records


@pytest.mark.parametrize('chunk_size', [1, 5, 1 << 22])
def test_jsonl_scanner_bom_crlf_and_blank_lines(tmp_path, chunk_size):
    records = _records(7, 6)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    text = '\ufeff' + lines[0] + '\r\n\n   \n' + '\r\n'.join(lines[1:]) + '\r\n\n'
    path = tmp_path / 'a.jsonl'
    path.write_bytes(text.encode('utf-8'))
    spans, info = scan_jsonl(str(path), chunk_size)
    assert _parse(path, spans) == records and not info['unterminated']
    path.write_bytes('\n'.join(lines).encode('utf-8'))  # no final newline
    spans, info = scan_jsonl(str(path), chunk_size)
    assert _parse(path, spans) == records and info['unterminated']


def test_format_sniffing(tmp_path):
    (tmp_path / 'a.jsonl').write_text('[{"a": 1}]')
    assert sniff_format(str(tmp_path / 'a.jsonl')) == 'json'  # content decides, not the name
    (tmp_path / 'b.json').write_text('\ufeff \n{"a": 1}\n', encoding='utf-8')
    assert sniff_format(str(tmp_path / 'b.json')) == 'jsonl'
    (tmp_path / 'c.json').write_text('  \n ')
    assert sniff_format(str(tmp_path / 'c.json')) is None
    (tmp_path / 'd.json').write_text('"a string"')
    with pytest.raises(ValueError, match='d.json.*not a JSON array nor JSON-lines'):
        sniff_format(str(tmp_path / 'd.json'))


def test_empty_inputs(tmp_path):
    for name, text in (('a.json', '[ \n ]'), ('b.json', ''), ('c.jsonl', '\n\n')):
        (tmp_path / name).write_text(text)
        index = RecordIndex(str(tmp_path / name), cache=False)
        assert len(index) == 0
        assert index.info['empty_file'] == (name != 'a.json')


def test_truncated_array_keeps_complete_elements(tmp_path):
    records = [{'a': 'x"]' * i, 'b': [i, {'c': '\\'}]} for i in range(5)]
    text = json.dumps(records, indent=1).encode('utf-8')
    path = tmp_path / 't.json'
    seen = set()
    for cut in range(1, len(text)):
        path.write_bytes(text[:cut])
        spans, info = scan_json_array(str(path), 3)
        got = _parse(path, spans)  # every kept span parses
        assert got == records[:len(got)]
        assert info['truncated']
        # Only elements that end before the cut can be kept, and the first missing one
        # was either cut or not started.
        seen.add((len(got), info['partial_dropped']))
    assert (0, True) in seen and (len(records) - 1, True) in seen
    path.write_bytes(text[:text.rindex(b']')])  # only the closing bracket is missing
    spans, info = scan_json_array(str(path))
    assert _parse(path, spans) == records and info['unterminated']
    assert not info['partial_dropped']


def test_trailing_data_and_mismatched_brackets(tmp_path):
    path = tmp_path / 'x.json'
    for text in ('[{"a": 1}] [{"b": 2}]', '[{"a": 1}}]'):
        path.write_text(text)
        spans, info = scan_json_array(str(path))
        assert _parse(path, spans) == [{'a': 1}] and info['trailing_data']
    path.write_text('[{"a": [1}, {"b": 2]}, {"c": 3}]')  # kinds mismatched, depth balanced
    index = RecordIndex(str(path), cache=False)
    assert len(index) == 2 and index.load(1) == {'c': 3}
    with pytest.raises(RecordDecodeError, match='invalid_json'):
        index.load(0)


def test_decode_errors_name_the_reason(tmp_path):
    path = tmp_path / 'bad.jsonl'
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n{"a": \n{"a": 2')
    index = RecordIndex(str(path), cache=False)
    assert len(index) == 4 and index.load(0) == {'a': 1}
    reasons = []
    for i in (1, 2, 3):
        with pytest.raises(RecordDecodeError) as info:
            index.load(i)
        reasons.append(info.value.reason)
    assert reasons == ['invalid_utf8', 'invalid_json', 'truncated_record']


def test_cache_reused_invalidated_and_optional(tmp_path):
    path = tmp_path / 'data' / 'r.jsonl'
    path.parent.mkdir()
    records = _records(3, 50)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    first = RecordIndex(str(path))
    second = RecordIndex(str(path))
    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(first.spans, second.spans)
    assert isinstance(second.spans, np.memmap)
    assert os.listdir(path.parent) == ['.fgclip2_cache', 'r.jsonl']  # hidden cache folder
    with open(path, 'a') as f:
        f.write(json.dumps({'new': 1}) + '\n')
    os.utime(path, ns=(1, 1))  # a changed size and mtime invalidate the cache
    third = RecordIndex(str(path))
    assert not third.from_cache and len(third) == 51 and third.load(50) == {'new': 1}
    shared = RecordIndex(str(path), cache_dir=str(tmp_path / 'cache'))
    assert len(os.listdir(tmp_path / 'cache')) == 2  # spans + meta
    assert RecordIndex(str(path), cache_dir=str(tmp_path / 'cache')).from_cache
    np.testing.assert_array_equal(shared.spans, third.spans)
    unwritable = RecordIndex(str(path), cache_dir=str(path / 'not_a_dir'))
    assert len(unwritable) == 51 and unwritable._spans.path is None  # works uncached
    assert not RecordIndex(str(path), cache=False).from_cache


def test_pickle_sends_the_cache_path_not_the_spans(tmp_path):
    path = tmp_path / 'big.jsonl'
    path.write_text(''.join(json.dumps({'i': i}) + '\n' for i in range(20000)))
    cached, uncached = RecordIndex(str(path)), RecordIndex(str(path), cache=False)
    cached.load(3)  # opens a file handle, which must not be pickled
    small, large = pickle.dumps(cached), pickle.dumps(uncached)
    assert len(small) < 1000 < 16 * 20000 < len(large)
    clone = pickle.loads(small)
    assert clone.load(19999) == {'i': 19999} and len(clone) == 20000
    assert pickle.loads(pickle.dumps(SharedArray(array=np.arange(3)))).array.tolist() == [0, 1, 2]


def test_iter_raw_blocks_match_random_reads(tmp_path):
    path = tmp_path / 'r.json'
    records = _records(11, 40)
    path.write_text(json.dumps(records, ensure_ascii=False), encoding='utf-8')
    index = RecordIndex(str(path), cache=False)
    rows = list(index.iter_raw(max_bytes=50))  # blocks much smaller than the file
    assert [i for i, _ in rows] == list(range(40))
    assert [index.decode(i, data) for i, data in rows] == records
    assert all(data == index.read(i) for i, data in rows)


def test_resolve_files(tmp_path):
    for name in ('b.json', 'a.jsonl', 'c.txt'):
        (tmp_path / name).write_text('[]')
    files, missing = resolve_files(['.', 'a.jsonl', '*.txt', 'nope.json', 'empty*'],
                                   str(tmp_path), ('*.json', '*.jsonl'))
    names = [os.path.basename(f) for f in files]
    assert names == ['a.jsonl', 'b.json', 'c.txt']  # sorted per entry, de-duplicated
    assert missing == [str(tmp_path / 'nope.json'),
                       f'{tmp_path / "empty*"} (no file matches this pattern)']
    with pytest.raises(ValueError, match='ann_file must be'):
        resolve_files([], '', ('*.json', ))
