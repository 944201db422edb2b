"""The README's Python examples run as written, on a tiny random checkpoint and a small
synthetic world placed where the examples look for them (``checkpoints/fg-clip2-base``,
``cat.jpg``, ``data/synthetic/``), in a scratch working directory."""
import os
import os.path as osp
import re
import shutil

import pytest
import torch

from fgclip2_mm.testing import synthetic_world, write_tiny_checkpoint

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _python_blocks():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)


def _block(first_import):
    found = [b for b in _python_blocks() if b.startswith(first_import)]
    assert len(found) == 1, f'README has {len(found)} python blocks starting {first_import!r}'
    return found[0]


@pytest.fixture
def readme_cwd(tmp_path_factory, tmp_path, monkeypatch):
    world = synthetic_world(str(tmp_path_factory.getbasetemp()))
    os.makedirs(tmp_path / 'checkpoints')
    write_tiny_checkpoint(str(tmp_path / 'checkpoints' / 'fg-clip2-base'),
                          osp.join(world, 'tokenizer'))
    os.makedirs(tmp_path / 'data')
    os.symlink(world, tmp_path / 'data' / 'synthetic')
    image = sorted(os.listdir(osp.join(world, 'images', 'val')))[0]
    shutil.copyfile(osp.join(world, 'images', 'val', image), tmp_path / 'cat.jpg')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_inference_and_zero_shot_examples_run_as_written(readme_cwd):
    scope = {}
    exec(compile(_block('from fgclip2_mm.apis import load_fgclip2'), 'README.md', 'exec'), scope)
    assert scope['img'].ndim == 2 and scope['img'].shape[0] == 1
    torch.testing.assert_close(scope['img'].norm(dim=-1), torch.ones(1))
    assert scope['txt'].shape[0] == 2 and scope['box'][0].shape[0] == 1
    assert scope['probs'].shape == (1, 2) and bool(((scope['probs'] >= 0) &
                                                    (scope['probs'] <= 1)).all())
    exec(compile(_block('from fgclip2_mm.evaluation import evaluate_zero_shot'), 'README.md',
                 'exec'), scope)
    assert scope['metrics']['box_cls/num_boxes'] > 0
    assert 0.0 <= scope['metrics']['box_cls/top1'] <= 1.0
