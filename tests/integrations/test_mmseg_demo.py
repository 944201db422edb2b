"""The inferencer, the overlay pictures (CJK fallback), tools/ov_seg_demo.py (one-line
errors) and the quick-start stage's skip path."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip('mmseg')

from fgclip2_mm.integrations.mmseg import FGCLIP2OVSegInferencer  # noqa: E402
from fgclip2_mm.integrations.mmseg import visualization  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import tiny_segmentor_cfg  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'tools', 'ov_seg_demo.py')


@pytest.fixture(scope='module')
def segmentor(ckpt):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(tiny_segmentor_cfg(ckpt))


def test_inferencer_any_vocabulary_and_overlay(segmentor, world, tmp_path):
    image = osp.join(world, 'images', 'val', '000000.jpg')
    inferencer = FGCLIP2OVSegInferencer(segmentor)
    height, width = np.asarray(Image.open(image)).shape[:2]
    out = inferencer(image, texts=['circle', '正方形', 'background'],
                     out_file=str(tmp_path / 'o.png'))
    assert out['pred'].shape == (height, width) and out['classes'] == ['circle', '正方形',
                                                                        'background']
    assert out['probs'].shape == (3, height, width)
    assert set(np.unique(out['pred'])) <= {0, 1, 2}
    picture = Image.open(out['overlay'])
    assert picture.width > width and picture.height >= height  # image + legend column
    if out['fallback']:  # no CJK font on this machine: names in the side file
        text = open(out['labels_file'], encoding='utf-8').read()
        assert '1\t正方形' in text
    else:
        assert out['labels_file'] is None
    zh = inferencer(np.asarray(Image.open(image).convert('RGB')),
                    texts=dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'), language='zh')
    assert zh['classes'][1] == '圆形' and zh['pred'].max() < 17


def test_overlay_legend_and_cjk_fallback(tmp_path, monkeypatch):
    image = np.full((20, 30, 3), 200, np.uint8)
    pred = np.zeros((20, 30), np.int64)
    pred[:, 20:] = 2
    monkeypatch.setattr(visualization, 'find_cjk_font', lambda: None)
    out = visualization.save_overlay(str(tmp_path / 'x.png'), image, pred, ['天空', 'road', '树'],
                                     fallback_names=['sky', 'road', 'tree'])
    assert out['fallback'] and osp.isfile(out['labels_file'])
    lines = open(out['labels_file'], encoding='utf-8').read().splitlines()
    assert lines[1:] == ['0\t天空', '1\troad', '2\t树']
    assert visualization._ascii_label(0, ['天空'], ['sky']) == '0: sky'
    assert visualization._ascii_label(0, ['天空'], None) == 'class 0'
    picture, fallback = visualization.draw_overlay(image, pred, ['sky', 'road', 'tree'])
    assert not fallback and picture.size[0] > 30
    legend = np.asarray(picture)[:, 30:]
    assert (legend != 255).any(), 'the legend draws swatches and names'
    with pytest.raises(ValueError, match='differ in size'):
        visualization.draw_overlay(image, pred[:5], ['a'])


@pytest.mark.parametrize('args,message', [
    (['missing.jpg', '--texts', 'cat'], 'image not found'),
    (['{img}'], 'one of the arguments'),
    (['{img}', '--texts', 'cat', '--alpha', '2'], '--alpha'),
    (['{img}', '--texts', 'cat', '--clip', '/nonexistent'], '--clip must be a folder'),
])
def test_demo_rejects_bad_arguments_in_one_line(world, args, message):
    image = osp.join(world, 'images', 'val', '000000.jpg')
    argv = [a.replace('{img}', image) for a in args]
    proc = subprocess.run([sys.executable, DEMO, *argv], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_demo_segments_with_a_chinese_vocabulary(world, ckpt, tmp_path, capsys):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import ov_seg_demo
    finally:
        sys.path.pop(0)
    image = osp.join(world, 'images', 'val', '000001.jpg')
    out = str(tmp_path / 'demo.png')
    assert ov_seg_demo.main([image, '--clip', ckpt, '--texts', '圆形', 'square, box',
                             '--out', out]) == 0
    assert osp.getsize(out) > 1000 and 'overlay:' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # a bad vocabulary is a one-line usage error
        ov_seg_demo.main([image, '--clip', ckpt, '--dataset', 'fgclip2_mm.Nope', '--out', out])
    assert exc.value.code == 2


def test_quickstart_stage_skips_without_a_pretrained_checkpoint(tmp_path):
    from fgclip2_mm.quickstart import ov_seg_stage
    from fgclip2_mm.quickstart.pipeline import QuickstartConfig
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=str(tmp_path / 'w'))
    logs = []
    for summary in ({}, {'pretrain': {'status': 'failed', 'reason': 'diverged'}},
                    {'pretrain': {'status': 'ok', 'checkpoint': str(tmp_path / 'none'),
                                  'tokenizer': str(tmp_path)}}):
        section = ov_seg_stage.run(config, summary, logs.append)
        assert section['status'] == 'skipped' and section['reason']
    assert 'diverged' in logs[1] and 'not found' in logs[2]
    assert not os.listdir(tmp_path)  # nothing written when skipped


@pytest.mark.slow
def test_quickstart_stage_runs_end_to_end_on_a_tiny_world(world, ckpt, tmp_path):
    """All four measurements and both pictures, with a random tiny model (about a minute)."""
    from fgclip2_mm.quickstart import ov_seg_stage
    from fgclip2_mm.quickstart.pipeline import QuickstartConfig
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=world)
    summary = {'pretrain': {'status': 'ok', 'checkpoint': ckpt,
                            'tokenizer': osp.join(world, 'tokenizer')}}
    section = ov_seg_stage.run(config, summary, lambda message: None, train_iters=2)
    assert section['status'] == 'ok' and section['train_iters'] == 2
    for key in ('miou_training_free_en', 'miou_training_free_zh', 'miou_trained_en',
                'miou_random'):
        assert 0.0 <= section[key] <= 1.0, key
    assert set(section['bars']) == {'training_free_en', 'training_free_zh', 'trained_en',
                                    'random_gap'}
    for name in ('trained_en', 'training_free_zh'):
        assert osp.getsize(section['pictures'][name]['overlay']) > 1000, name
    assert section['pictures']['loss_curve'] is None or \
        osp.getsize(section['pictures']['loss_curve']) > 1000
