"""Inference with free vocabularies: the inferencer (English, Chinese, mixed), checkpoints,
the demo tool's one-line errors and output, Chinese labels in the visualizer."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

import fgclip2_mm  # noqa: E402,F401
from fgclip2_mm.integrations.mmdet import (FGCLIP2DetLocalVisualizer,  # noqa: E402
                                           FGCLIP2OVDetInferencer, parse_vocabulary)
from fgclip2_mm.testing import load_script  # noqa: E402
from fgclip2_mm.integrations.mmdet.testing import write_tiny_checkpoint  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'projects', 'fgclip2_ovdet', 'configs', 'synthetic',
                  'fvit_fgclip2-tiny_simplefpn_synthetic-ov.py')
DEMO = osp.join(ROOT, 'tools', 'ov_det_demo.py')


@pytest.fixture(scope='module')
def setup(world, tmp_path_factory):
    """A tiny checkpoint and a config file pointing at it (and at a private cache)."""
    folder = tmp_path_factory.mktemp('inference')
    ckpt = write_tiny_checkpoint(str(folder / 'ckpt'), f'{world}/tokenizer')
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.checkpoint = ckpt
    cfg.model.roi_head.bbox_head.text_embeddings.update(
        checkpoint=ckpt, tokenizer=f'{world}/tokenizer', cache_dir=str(folder / 'cache'))
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=30)
    cfg.test_dataloader.dataset.data_root = world + '/'
    path = str(folder / 'tiny_ovdet.py')
    cfg.dump(path)
    image = osp.join(world, 'images', 'val', '000000.jpg')
    return dict(config=path, ckpt=ckpt, image=image, folder=folder,
                cache=str(folder / 'cache'))


def test_parse_vocabulary():
    assert parse_vocabulary('红色的圆形 . blue square') == ['红色的圆形', 'blue square']
    assert parse_vocabulary('heart。 月牙形 .') == ['heart', '月牙形']
    assert parse_vocabulary(['a', ' b ']) == ['a', 'b']
    for bad, match in (('', 'no class name'), (' . ', 'no class name'),
                       ('cat . cat', 'twice'), ([''], 'non-empty'), (3, 'string')):
        with pytest.raises(ValueError, match=match):
            parse_vocabulary(bad)


def test_inferencer_with_chinese_and_mixed_vocabularies(setup, tmp_path):
    inferencer = FGCLIP2OVDetInferencer(setup['config'], texts='红色的圆形 . blue square')
    assert inferencer.model.classes == ['红色的圆形', 'blue square']
    out = inferencer(setup['image'], out_dir=str(tmp_path), return_datasamples=True,
                     pred_score_thr=0.0)
    pred = out['predictions'][0].pred_instances
    assert len(pred) > 0 and pred.labels.max() < 2
    assert osp.getsize(tmp_path / 'vis' / '000000.jpg') > 1000
    out = inferencer(setup['image'], texts='爱心 . 月牙形 . octagon', return_datasamples=True)
    assert inferencer.model.dataset_meta['classes'] == ('爱心', '月牙形', 'octagon')
    assert out['predictions'][0].pred_instances.labels.max() < 3
    with pytest.raises(ValueError, match='language'):
        FGCLIP2OVDetInferencer(setup['config'], texts='cat', language='en+zh')


def test_inferencer_takes_the_vocabulary_from_a_checkpoint(setup, tmp_path):
    from mmengine.runner import save_checkpoint
    base = FGCLIP2OVDetInferencer(setup['config'], texts='circle . square')
    meta = dict(dataset_meta=dict(classes=('circle', 'heart'), base_classes=('circle', )))
    weights = str(tmp_path / 'det.pth')
    save_checkpoint(dict(state_dict=base.model.state_dict(), meta=meta), weights)
    loaded = FGCLIP2OVDetInferencer(setup['config'], weights=weights)
    assert loaded.model.classes == ['circle', 'heart']
    assert loaded.model.roi_head.bbox_head.is_base.tolist() == [True, False]
    for key, value in base.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    # and from the config's test metainfo when the checkpoint has none
    fresh = FGCLIP2OVDetInferencer(setup['config'])
    assert len(fresh.model.classes) == 16


def test_visualizer_labels_chinese_names_without_a_cjk_font(monkeypatch):
    vis = FGCLIP2DetLocalVisualizer(name='test_vis_zh')
    vis.dataset_meta = dict(classes=('circle', 'heart'), classes_zh=('圆形', '爱心'))
    monkeypatch.setattr(vis, 'font_path', None)
    assert vis.display_classes(['圆形', 'square', '爱心', '新的']) == [
        'circle', 'square', 'heart', 'class 3'
    ]
    monkeypatch.setattr(vis, 'font_path', '/some/cjk.ttf')
    assert vis.display_classes(['圆形', 'square']) == ['圆形', 'square']
    with pytest.raises(ValueError, match='Chinese glyphs'):
        FGCLIP2DetLocalVisualizer(name='test_vis_bad', font_path=__file__)


def run_demo(*args, cwd=ROOT):
    return subprocess.run([sys.executable, DEMO, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope='module')
def demo():
    return load_script(DEMO)


@pytest.mark.parametrize('args,match', [
    (['missing.jpg', CONFIG, '--texts', 'cat'], 'image not found'),
    (['{image}', CONFIG, '--texts', ' . '], 'no class name'),
    (['{image}', CONFIG, '--texts', 'cat', '--score-thr', '2'], 'score-thr'),
    (['{image}', CONFIG, '--texts', 'cat', '--cfg-options', 'novalue'], 'key=value'),
    (['{image}', CONFIG], '--texts'),
], ids=['no-image', 'empty-texts', 'bad-threshold', 'bad-option', 'no-texts'])
def test_demo_rejects_bad_arguments_in_one_line(demo, setup, args, match, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main([a.format(image=setup['image']) for a in args])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], lines


def test_demo_saves_visualised_detections(demo, setup, tmp_path, capsys):
    out = tmp_path / 'demo'
    proc = run_demo(setup['image'], setup['config'], '--texts', '红色的圆形 . blue square',
                    '--out-dir', str(out), '--score-thr', '0')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'detections above 0.0:' in proc.stdout
    assert osp.getsize(out / 'vis' / '000000.jpg') > 1000
    assert osp.isfile(out / 'preds' / '000000.json')
    assert run_demo('missing.jpg', CONFIG, '--texts', 'x').stderr.count('\n') == 1
    code = demo.main([setup['image'], setup['config'], '--texts', 'cat', '--cfg-options',
                      'model.backbone.checkpoint=/nonexistent'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and '/nonexistent' in err[0], err
