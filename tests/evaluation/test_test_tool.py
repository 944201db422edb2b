"""tools/test.py with a checkpoint folder merges the folder's architecture into the config's
model (keeping the rest of the config), loads the weights strictly, and takes mmdet's
``--out`` / ``--show-dir`` flags; tools/dist_test.sh forwards to it."""
import os
import os.path as osp
import pickle
import shutil
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from fgclip2_mm.models.utils.arch_zoo import get_arch
from fgclip2_mm.models.vlms.build_from_folder import merge_folder_arch
from fgclip2_mm.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHETIC = osp.join(ROOT, 'configs', 'eval', 'synthetic')


def _test_tool():
    return load_script(osp.join(ROOT, 'tools', 'test.py'), 'fgclip2_test_tool')


class _Capture:
    """The runner and metrics of Runner.test."""

    def __init__(self, monkeypatch):
        self.runner = self.metrics = None
        original = Runner.test

        def test(runner):
            self.runner = runner
            self.metrics = original(runner)
            return self.metrics

        monkeypatch.setattr(Runner, 'test', test)


def _run(config, folder, world, tmp_path, monkeypatch, *extra):
    capture = _Capture(monkeypatch)
    _test_tool().main([
        osp.join(SYNTHETIC, config), folder, '--work-dir', str(tmp_path), *extra,
        '--cfg-options', f'test_dataloader.dataset.data_root={world}/',
        'test_dataloader.num_workers=0', f'test_cfg.tokenizer={world}/tokenizer'
    ])
    return capture


def test_merge_takes_the_folder_arch_and_keeps_the_rest(tiny_folder):
    cfg = dict(type='fgclip2_mm.FGCLIP2', arch='base', frozen_params=['logit_bias'],
               data_preprocessor=dict(type='FGCLIP2DataPreprocessor', pad_to='bucket'),
               vision_backbone=dict(type='FGCLIP2VisionTransformer', arch='base',
                                    attn_impl='eager'))
    merged = merge_folder_arch(cfg, tiny_folder)
    tiny = get_arch('tiny')
    assert merged['arch'] == tiny
    assert merged['vision_backbone'] == dict(type='FGCLIP2VisionTransformer',
                                             arch=tiny['vision'], attn_impl='eager')
    assert 'text_encoder' not in merged  # built from `arch` as before
    assert merged['data_preprocessor'] == cfg['data_preprocessor']
    assert merged['frozen_params'] == ['logit_bias']
    assert cfg['arch'] == 'base' and cfg['vision_backbone']['arch'] == 'base'  # not mutated


def test_merge_refuses_a_model_that_is_not_fgclip2(tiny_folder, tmp_path):
    with pytest.raises(ValueError, match="model.type is 'mmdet.FasterRCNN'"):
        merge_folder_arch(dict(type='mmdet.FasterRCNN'), tiny_folder)
    with pytest.raises(ValueError, match='neither'):
        merge_folder_arch(dict(type='fgclip2_mm.FGCLIP2'), str(tmp_path))


def test_folder_checkpoint_keeps_the_config_preprocessor_and_loads_strictly(
        eval_world, tiny_folder, tiny_model, tmp_path, monkeypatch):
    capture = _run('box-cls_en.py', tiny_folder, eval_world, tmp_path, monkeypatch,
                   '--cfg-options', 'model.data_preprocessor.type=FGCLIP2DataPreprocessor',
                   'model.data_preprocessor.pad_to=bucket')
    model = capture.runner.model
    assert model.data_preprocessor.pad_to == 'bucket'  # replaced wholesale before
    assert model.arch_dict() == tiny_model.arch_dict()
    state = tiny_model.state_dict()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)
    assert capture.metrics['box_cls/num_boxes'] > 0


def test_folder_missing_a_weight_fails_naming_the_folder_and_key(eval_world, tiny_folder,
                                                                 tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file
    bad = tmp_path / 'model'
    shutil.copytree(tiny_folder, bad)
    weights = next(p for p in bad.iterdir() if p.suffix == '.safetensors')
    state = load_file(str(weights))
    del state['text_encoder.boxtext_head.weight']
    save_file(state, str(weights))
    with pytest.raises(ValueError, match=f"{bad}.*boxtext_head.weight"):
        _run('box-cls_en.py', str(bad), eval_world, tmp_path, monkeypatch)


@pytest.mark.parametrize('config', ['box-cls_en.py', 'fgovd-hard_zh.py', 'zeroshot-cls_en.py',
                                    'retrieval-short_en.py'])
def test_out_and_show_dir(config, eval_world, tiny_folder, tmp_path, monkeypatch):
    out = tmp_path / 'preds.pkl'
    plain = _run(config, tiny_folder, eval_world, tmp_path / 'plain', monkeypatch).metrics
    capture = _run(config, tiny_folder, eval_world, tmp_path, monkeypatch, '--out', str(out),
                   '--show-dir', 'vis')
    assert capture.metrics == plain  # the dump and the pictures change no number
    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    dataset = capture.runner.test_dataloader.dataset
    assert sorted(d['sample_idx'] for d in dumped) == list(range(len(dataset)))
    key = 'image_embeds' if config.startswith('retrieval') else 'pred_scores'
    assert all(key in d for d in dumped)
    vis = osp.join(str(tmp_path), capture.runner.timestamp, 'vis')
    pictures = sorted(os.listdir(vis))
    if config.startswith('retrieval'):
        assert pictures == []  # a gallery ranking: nothing to draw (logged)
        return
    assert len(pictures) == len(dataset) and all(p.endswith('.jpg') for p in pictures)
    from PIL import Image
    first = dataset[0]['data_samples'].metainfo
    with Image.open(osp.join(vis, f'0_{osp.splitext(osp.basename(first["img_path"]))[0]}.jpg')) \
            as picture:
        assert picture.size == tuple(first['ori_shape'][:2])[::-1]


def test_out_must_be_a_pickle(tiny_folder, capsys):
    with pytest.raises(SystemExit):
        _test_tool().parse_args([osp.join(SYNTHETIC, 'box-cls_en.py'), tiny_folder,
                                 '--out', 'preds.json'])
    assert '--out must name a .pkl or .pickle file' in capsys.readouterr().err


@pytest.mark.parametrize('script,args,tail', [
    ('dist_test.sh', ['CFG', 'CKPT', '2', '--out', 'x.pkl'],
     ['test.py', 'CFG', 'CKPT', '--launcher', 'pytorch', '--out', 'x.pkl']),
    ('dist_train.sh', ['CFG', '2', '--amp'], ['train.py', 'CFG', '--launcher', 'pytorch',
                                               '--amp']),
])
def test_dist_scripts_run_torchrun_with_the_pytorch_launcher(script, args, tail, tmp_path):
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'python').write_text('#!/bin/sh\necho "$@"\n')
    (fake / 'python').chmod(0o755)
    env = dict(os.environ, PATH=f'{fake}:{os.environ["PATH"]}', PORT='29611', NNODES='1')
    out = subprocess.run(['bash', osp.join(ROOT, 'tools', script), *args], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=2' in out and '--master_port=29611' in out
    assert out[-len(tail):] == [osp.join(ROOT, 'tools', tail[0]), *tail[1:]]
