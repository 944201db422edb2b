"""The quick start on a small world: summary sections, pictures, world reuse and CLI errors."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from fgclip2_mm.quickstart import SECTIONS, QuickstartConfig, run_quickstart

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_quickstart_writes_summary_and_pictures(tmp_path):
    config = QuickstartConfig(work_dir=str(tmp_path / 'qs'), data_root=str(tmp_path / 'world'),
                              num_train=12, num_val=8, workers=1, sections=[])
    summary = run_quickstart(config)
    on_disk = json.loads((tmp_path / 'qs' / 'summary.json').read_text(encoding='utf-8'))
    assert on_disk == json.loads(json.dumps(summary, ensure_ascii=False))
    for name in SECTIONS:
        assert name in on_disk, f'summary.json lacks the {name} section'
    world = on_disk['world']
    assert world['status'] == 'ok' and not world['reused']
    assert world['num_train_images'] == 12 and world['num_val_images'] == 8
    for path in world['pictures'].values():
        assert osp.getsize(path) > 1000
    html = open(world['pictures']['gallery'], encoding='utf-8').read()
    assert any('\u4e00' <= ch <= '\u9fff' for ch in html), 'gallery shows no Chinese text'
    assert on_disk['profile'] == world['profile'] == 'calibrated'
    assert world['classes'][-2:] == world['novel_classes'] == ['heart', 'crescent']
    report = (tmp_path / 'qs' / 'report.html').read_text(encoding='utf-8')
    assert 'calibrated world' in report and 'data:image/png;base64,' in report
    assert '圆形' in report and 'class="novel"' in report
    for name in SECTIONS:  # sections that did not run say so
        assert f'{name}: not_run' in report or f'{name}: not_built' in report

    again = run_quickstart(config)
    assert again['world']['reused']
    meta_path = tmp_path / 'world' / 'world_meta.json'
    meta = json.loads(meta_path.read_text(encoding='utf-8'))
    meta['generator_version'] = '0.9.0'  # a world from an older generator is rebuilt
    meta_path.write_text(json.dumps(meta), encoding='utf-8')
    assert not run_quickstart(config)['world']['reused']
    assert {again[name]['status'] for name in SECTIONS} == {'not_run'}  # built, not selected


def test_unselected_sections_keep_the_previous_finished_ones(tmp_path):
    """``--sections ov_det`` after a full run reuses the pretrain section it needs; a
    summary of another world is not reused."""
    config = QuickstartConfig(work_dir=str(tmp_path / 'qs'), data_root=str(tmp_path / 'world'),
                              num_train=12, num_val=8, workers=1, sections=[])
    run_quickstart(config)
    path = tmp_path / 'qs' / 'summary.json'
    old = json.loads(path.read_text(encoding='utf-8'))
    old['pretrain'] = {'status': 'ok', 'checkpoint': 'x', 'box_cls_top1_en': 0.5}
    old['eval'] = {'status': 'skipped', 'reason': 'r'}
    path.write_text(json.dumps(old), encoding='utf-8')
    summary = run_quickstart(config)
    assert summary['pretrain'] == old['pretrain']  # finished: kept
    assert summary['eval']['status'] == 'not_run'  # not finished: not kept
    other = QuickstartConfig(**{**config.__dict__, 'seed': 1})
    path.write_text(json.dumps(old), encoding='utf-8')
    assert run_quickstart(other)['pretrain']['status'] == 'not_run'


def test_report_shows_numbers_next_to_their_controls(tmp_path):
    from fgclip2_mm.visualization import write_report
    summary = {
        'profile': 'calibrated', 'total_seconds': 1.0,
        'world': {'status': 'ok', 'profile': 'calibrated', 'classes': ['circle', 'heart'],
                  'classes_zh': ['圆形', '爱心'], 'novel_classes': ['heart']},
        'pretrain': {'status': 'ok', 'box_cls_top1_en': 0.25, 'box_cls_top1_zh': 0.2,
                     'hard_neg_acc_en': 0.45, 'hard_neg_acc_zh': 0.44,
                     'controls': {'random_weights': {'box_cls_top1_en': 0.013},
                                  'chance': {'box_cls_top1': 0.011, 'hard_neg_acc': 0.091},
                                  'majority_class': {'box_cls_top1': 0.019}}},
        'ov_det': {'status': 'ok', 'novel_ap50_en': 0.004, 'novel_ap50_random_text': 0.001,
                   'encoder': {'source': 'pretrain', 'note': 'the CPU encoder'}},
        'ov_seg': {'status': 'skipped', 'reason': 'no mmseg'}}
    (tmp_path / 'summary.json').write_text(json.dumps(summary), encoding='utf-8')
    (tmp_path / 'shape_learnability.json').write_text(json.dumps([
        {'arm': 'region_vit', 'step': 400, 'shape': 0.44, 'joint': 0.42, 'profile': 'calibrated',
         'majority_shape_top1': 0.215}]), encoding='utf-8')
    report = open(write_report(str(tmp_path)), encoding='utf-8').read()
    for value in ('0.250', '0.013', '0.011', '0.019', '0.420', '0.440', '0.215', '0.004',
                  '0.001'):
        assert value in report, value
    assert 'ov_seg: skipped no mmseg' in report and 'eval: missing' in report
    assert 'Encoder: <b>pretrain</b>' in report
    with pytest.raises(ValueError, match='summary.json not found'):
        write_report(str(tmp_path / 'none'))


def test_quickstart_cli_rejects_bad_arguments_in_one_line():
    for args in (['--num-train', '-3'], ['--sections', 'pretrain,bogus'], ['--seed', 'x'],
                 ['--profile', 'hard']):
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'quickstart.py'), *args],
                              capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert 'Traceback' not in proc.stderr
