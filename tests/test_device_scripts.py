"""The GPU machine's scripts (tools/device) on the CPU: the pretraining dry run (tiny world,
3 steps, the same code path as the GPU run), the train-step FLOP count, the shell
wrapper's syntax, and the quick start picking up the folder the GPU run writes."""
import json
import os.path as osp
import subprocess
import tarfile

import pytest

from fgclip2_mm.quickstart import encoder
from fgclip2_mm.testing import load_script

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEVICE = osp.join(REPO, 'tools', 'device')


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('device') / 'out'
    tool = load_script(osp.join(DEVICE, 'pretrain_synthetic.py'))
    assert tool.main(['--dry-run', '--out', str(out)]) == 0
    return out


def test_dry_run_writes_the_checkpoint_metrics_and_provenance(dry_run):
    provenance = json.loads((dry_run / 'provenance.json').read_text(encoding='utf-8'))
    assert provenance['dry_run'] and provenance['steps'] == 3
    assert provenance['world'] == dict(profile='calibrated', seed=0, num_train=24, num_val=16,
                                       generator_version=provenance['world']['generator_version'])
    assert provenance['git_commit'] and provenance['precision'] == 'fp32'
    assert 0 < provenance['checkpoint_mb'] <= 5
    metrics = json.loads((dry_run / 'metrics.json').read_text(encoding='utf-8'))
    for key in ('box_cls_top1_en', 'box_cls_top1_zh', 'hard_neg_acc_en', 'hard_neg_acc_zh'):
        assert 0 <= metrics[key] <= 1 and key in metrics['controls']['random_weights']
    with tarfile.open(dry_run / 'fgclip2_synthetic_gpu.tar.gz') as tar:
        names = tar.getnames()
    assert 'fgclip2_synthetic_gpu/provenance.json' in names
    assert any(n.endswith('model/tokenizer.json') for n in names)


def test_quick_start_uses_the_unpacked_folder_for_its_profile_only(dry_run, tmp_path):
    with tarfile.open(dry_run / 'fgclip2_synthetic_gpu.tar.gz') as tar:
        tar.extractall(tmp_path, filter='data')
    folder = str(tmp_path / 'fgclip2_synthetic_gpu')
    found, why = encoder.gpu_encoder('calibrated', folder)
    assert found['source'] == 'gpu' and found['checkpoint'] == osp.join(folder, 'model')
    from fgclip2_mm.apis import load_fgclip2
    assert load_fgclip2(found['checkpoint']) is not None
    assert encoder.gpu_encoder('legacy', folder)[0] is None
    missing, why = encoder.gpu_encoder('calibrated', str(tmp_path / 'none'))
    assert missing is None and 'no GPU-pretrained encoder' in why


def test_train_step_counts_flops_on_cpu(tmp_path):
    tool = load_script(osp.join(DEVICE, 'train_step_mfu.py'))
    out = tmp_path / 'row.json'
    assert tool.main(['--arch', 'tiny', '--batch-size', '2', '--patches', '16', '--steps', '1',
                      '--warmup', '0', '--device', 'cpu', '--json', str(out)]) == 0
    row = json.loads(out.read_text())
    assert row['step_flops'] > 0 and row['step_seconds'] > 0
    assert row['mfu_datasheet'] == pytest.approx(
        row['step_flops'] / row['step_seconds'] / 1e12 / 989.0, rel=0.05, abs=1e-4)


def test_shell_wrapper_parses_and_rejects_a_bad_part():
    script = osp.join(DEVICE, 'pretrain_synthetic.sh')
    assert subprocess.run(['bash', '-n', script]).returncode == 0
    bad = subprocess.run(['bash', script, 'bogus'], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and 'usage' in bad.stderr
