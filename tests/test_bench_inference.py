"""tools/benchmarks/bench_inference.py runs on a tiny model and prints both ratios, the
batched-vs-one-by-one agreement and the one-shape forward bound."""
import os.path as osp
import re

from fgclip2_mm.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_bench_prints_ratios_agreement_and_bound(capsys):
    bench = load_script(osp.join(ROOT, 'tools', 'benchmarks', 'bench_inference.py'))
    assert bench.main(['--size', 'tiny', '--images', '3', '--batch-size', '2', '--boxes', '2',
                       '--repeats', '1', '--max-side', '96', '--threads', '1']) == 0
    out = capsys.readouterr().out
    for name in ('images', 'regions'):
        line = next(l for l in out.splitlines() if l.startswith(name))
        ratio, diff = re.search(r'ratio ([\d.]+)x \| max \|diff\| ([\d.e+-]+)', line).groups()
        assert float(ratio) > 0 and float(diff) < 1e-4  # batching changes no result
    bounds = re.findall(r'bound: 2 images of (\d+) patches .*: ([\d.]+)x', out)
    assert [b[0] for b in bounds] == ['256', '1024'] and all(float(b[1]) > 0 for b in bounds)
