"""Benchmark the record index against ``json.load`` on a synthetic FineHARD-like file.

Usage::

    python tools/benchmarks/bench_record_index.py [--records 200000] [--reads 5000]

Writes ``--records`` records (FineHARD schema: long and short captions, 1-8 boxes with
short/long expressions and 10 hard negatives each, about 3 KB per record) as JSON-lines
and as a JSON array into a temporary folder, then measures, each in a fresh Python process
so the memory numbers do not contaminate each other:

(a) index build time (JSON-lines newline scan; JSON-array streaming scanner) and the
    dataset's one-time validation pass (``FGCLIP2FineHARDDataset.full_init``, uncached);
(b) random access: mean time per ``RecordIndex.load(i)`` (read + parse) and per
    ``get_data_info(i)`` (read + parse + validate), over ``--reads`` random indices;
(c) memory: the resident-set growth (VmRSS after minus before, and the peak) of holding
    the in-memory index, of holding the memory-mapped cached index, and of
    ``json.load`` of the whole file (what the reference does in every worker);
(d) the pickled size of the dataset (what each dataloader worker receives).

Ratios are printed from numbers measured in this one run. Timings depend on the load of
the machine; the memory numbers do not.
"""
import argparse
import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int

WORDS = ('red', 'blue', 'green', 'small', 'large', 'dotted', 'striped', 'circle', 'square',
         'star', 'left', 'right', 'center', 'background', 'image', 'shape', '红色', '圆形')


def _sentence(rng: random.Random, num: int) -> str:
    return ' '.join(rng.choice(WORDS) for _ in range(num))


def _record(rng: random.Random, i: int) -> dict:
    boxes = []
    for _ in range(rng.randint(1, 8)):
        x1, y1 = rng.random() * 0.5, rng.random() * 0.5
        boxes.append({'bbox': [round(x1, 6), round(y1, 6), round(x1 + 0.3, 6),
                               round(y1 + 0.3, 6), 1.0],
                      'short_expr': _sentence(rng, 4), 'long_expr': _sentence(rng, 12),
                      'flag_short_neg': 1,
                      'short_expr_negs': {str(k): _sentence(rng, 4) for k in range(10)}})
    return {'f_path': f'images/{i // 1000:05d}/{i:09d}.jpg', 'caption': _sentence(rng, 60),
            'short_caption': _sentence(rng, 10), 'bbox_info': boxes}


def _write(folder: str, num: int) -> tuple:
    rng = random.Random(0)
    jsonl, array = os.path.join(folder, 'records.jsonl'), os.path.join(folder, 'records.json')
    with open(jsonl, 'w', encoding='utf-8') as lines, open(array, 'w', encoding='utf-8') as arr:
        arr.write('[')
        for i in range(num):
            text = json.dumps(_record(rng, i), ensure_ascii=False)
            lines.write(text + '\n')
            arr.write((',\n' if i else '\n') + text)
        arr.write('\n]\n')
    return jsonl, array


def _rss() -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('VmRSS not found in /proc/self/status')


def _child(mode: str, path: str, reads: int) -> dict:
    """Runs in a fresh process; returns the measurements of one mode."""
    import numpy as np
    from fgclip2_mm.datasets import FGCLIP2FineHARDDataset, RecordIndex
    before = _rss()
    start = time.perf_counter()
    if mode == 'json_load':
        with open(path, encoding='utf-8') as f:
            held = json.load(f)
    elif mode in ('index', 'index_cached'):
        held = RecordIndex(path, cache=mode == 'index_cached')
        if mode == 'index_cached':
            int(held.spans.sum())  # touch every page of the memory map
    else:  # dataset: index + one-time validation pass (uncached), or both from the cache
        held = FGCLIP2FineHARDDataset(path, cache_index=mode == 'dataset_cached')
    out = {'seconds': time.perf_counter() - start, 'rss_growth': _rss() - before,
           'peak_rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    picks = np.random.default_rng(0).integers(0, len(held), reads).tolist()
    start = time.perf_counter()
    if mode == 'index':
        for i in picks:
            held.load(i)
    elif mode.startswith('dataset'):
        for i in picks:
            held.get_data_info(i)
        out['pickled_bytes'] = len(pickle.dumps(held))
    out['read_us'] = (time.perf_counter() - start) / max(reads, 1) * 1e6
    out['records'] = len(held)
    return out


def _run_child(mode: str, path: str, reads: int) -> dict:
    result = subprocess.run([sys.executable, __file__, '--child', mode, path, '--reads',
                             str(reads)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = OneLineArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--records', type=non_negative_int, default=200000)
    parser.add_argument('--reads', type=non_negative_int, default=5000)
    parser.add_argument('--child', nargs=2, metavar=('MODE', 'PATH'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.reads)))
        return
    if args.records < 1:
        parser.error('--records must be >= 1')
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        jsonl, array = _write(folder, args.records)
        size = os.path.getsize(jsonl)
        print(f'wrote {args.records} records, {size / 2**20:.1f} MiB per file, in '
              f'{time.perf_counter() - start:.1f} s; load average {os.getloadavg()[0]:.2f} '
              f'on {os.cpu_count()} CPUs')
        runs = {}
        for label, mode, path in (('json.load (jsonl as array)', 'json_load', array),
                                  ('index jsonl', 'index', jsonl),
                                  ('index json array', 'index', array),
                                  ('index jsonl cached (mmap)', 'index_cached', jsonl),
                                  ('dataset jsonl (validate all)', 'dataset', jsonl),
                                  ('dataset jsonl cached (mmap)', 'dataset_cached', jsonl)):
            if mode.endswith('_cached'):
                _run_child(mode, path, 0)  # build the cache first
            runs[label] = _run_child(mode, path, args.reads)
        print(f'{"":30s} {"build s":>9s} {"RSS growth MiB":>15s} {"peak RSS MiB":>13s} '
              f'{"read us":>9s}')
        for label, run in runs.items():
            print(f'{label:30s} {run["seconds"]:9.2f} {run["rss_growth"] / 2**20:15.1f} '
                  f'{run["peak_rss"] / 2**20:13.1f} {run["read_us"]:9.1f}')
        base = runs['json.load (jsonl as array)']
        for label in ('index jsonl', 'index json array', 'index jsonl cached (mmap)'):
            growth = max(runs[label]['rss_growth'], 1)
            print(f'RSS growth ratio json.load / {label}: {base["rss_growth"] / growth:.0f}x; '
                  f'time ratio: {base["seconds"] / runs[label]["seconds"]:.1f}x')
        dataset, cached = runs['dataset jsonl (validate all)'], runs['dataset jsonl cached (mmap)']
        print(f'dataset: {dataset["records"]} samples, validation pass '
              f'{dataset["seconds"] / args.records * 1e6:.0f} us/record, get_data_info '
              f'{dataset["read_us"]:.0f} us; pickled dataset {dataset["pickled_bytes"]} bytes '
              f'uncached, {cached["pickled_bytes"]} bytes with the cache (memory maps)')
        print(f'json.load keeps {base["rss_growth"] / args.records:.0f} bytes/record, the '
              f'in-memory index {runs["index jsonl"]["rss_growth"] / args.records:.1f} '
              f'(16 bytes/record of spans + allocator slack)')


if __name__ == '__main__':
    main()
