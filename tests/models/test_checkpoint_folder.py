"""Checkpoint folders of the three layouts (ours, official FG-CLIP 2, SigLIP 2 NaFlex) load
through mmengine's own mechanisms: ``init_cfg=dict(type='Pretrained', checkpoint=FOLDER)``
(with and without ``prefix``), ``Runner(load_from=FOLDER)`` and the strict
``FGCLIP2Pretrained``; each must give the weights of :func:`load_fgclip2`."""
import json

import pytest
import torch
from mmengine.runner import Runner

from fgclip2_mm.apis import load_fgclip2, save_fgclip2
from fgclip2_mm.engine import load_checkpoint_file
from fgclip2_mm.models import FGCLIP2, FGCLIP2VisionTransformer
from fgclip2_mm.models.utils import checkpoint_folder as cf
from .helpers import official_config, official_state_dict, perturb_, write_official_folder

pytest.importorskip('transformers')
LAYOUTS = ('fgclip2_mm', 'fgclip2', 'siglip2')


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('folders')
    torch.manual_seed(0)
    save_fgclip2(perturb_(FGCLIP2(arch='tiny'), seed=1), str(root / 'fgclip2_mm'))
    write_official_folder(root / 'fgclip2', official_state_dict(seed=2), official_config())
    write_official_folder(root / 'siglip2', official_state_dict(seed=3, with_extras=False),
                          official_config('siglip2'))
    return {name: str(root / name) for name in LAYOUTS}


def _reference(folder: str) -> dict:
    return load_fgclip2(folder).state_dict()


def _assert_loaded(model: torch.nn.Module, reference: dict, prefix: str = '') -> None:
    state = model.state_dict()
    for key, value in reference.items():
        if key.startswith(prefix) and key[len(prefix):] in state:
            torch.testing.assert_close(state[key[len(prefix):]], value, rtol=0, atol=0,
                                       msg=key)


def _target(folder: str, init_cfg=None, seed: int = 9) -> FGCLIP2:
    torch.manual_seed(seed)
    _, _, arch = cf.read_folder_config(folder)
    return FGCLIP2(arch=arch, init_cfg=init_cfg)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_mmengine_pretrained_init(folders, layout):
    """mmengine applies ``Pretrained`` after the other entries (the zeroed Linears are
    overwritten), and every tensor equals load_fgclip2's."""
    init = [dict(type='Constant', val=0.0, layer='Linear'),
            dict(type='Pretrained', checkpoint=folders[layout])]
    model = _target(folders[layout], init)
    assert model.init_cfg == init  # passed to mmengine unchanged, no entry taken out
    model.init_weights()
    _assert_loaded(model, _reference(folders[layout]))
    assert model.text_encoder.head.weight.abs().sum() > 0


@pytest.mark.parametrize('layout', LAYOUTS)
def test_mmengine_pretrained_init_with_prefix(folders, layout):
    """A tower alone (as the detector's backbone) takes its part of any folder."""
    _, _, arch = cf.read_folder_config(folders[layout])
    init = dict(type='Pretrained', checkpoint=folders[layout], prefix='vision_backbone.')
    vit = FGCLIP2VisionTransformer(arch=arch['vision'], init_cfg=init)
    vit.init_weights()
    reference = _reference(folders[layout])
    _assert_loaded(vit, reference, prefix='vision_backbone.')
    torch.testing.assert_close(vit.dense_head.mlp.fc1.weight,
                               reference['vision_backbone.dense_head.mlp.fc1.weight'])


@pytest.mark.parametrize('layout', LAYOUTS)
def test_runner_load_from(folders, layout, tmp_path):
    model = _target(folders[layout])
    runner = Runner(model=model, work_dir=str(tmp_path), load_from=folders[layout],
                    experiment_name=f'load_from_{layout}')
    runner.load_or_resume()
    _assert_loaded(runner.model, _reference(folders[layout]))


@pytest.mark.parametrize('layout', LAYOUTS)
def test_strict_fgclip2_pretrained(folders, layout):
    model = _target(folders[layout], dict(type='FGCLIP2Pretrained',
                                          checkpoint=folders[layout]))
    model.init_weights()
    _assert_loaded(model, _reference(folders[layout]))
    small = FGCLIP2(arch='small', init_cfg=dict(type='FGCLIP2Pretrained',
                                                checkpoint=folders[layout]))
    with pytest.raises(ValueError, match=f'loading .*{layout}.*shape mismatches'):
        small.init_weights()


def test_folder_as_mmengine_checkpoint(folders):
    """The loader scheme's output: our keys, the layout and what was derived."""
    for layout in LAYOUTS:
        ckpt = load_checkpoint_file(folders[layout])
        meta = ckpt['meta']['fgclip2_mm']
        assert meta['layout'] == layout and meta['arch'] == cf.read_folder_config(
            folders[layout])[2]
        assert all(k.startswith(('text_encoder.', 'vision_backbone.', 'logit_'))
                   for k in ckpt['state_dict'])
        derived = [k for k in ckpt['state_dict'] if k.startswith(cf.SIGLIP2_DERIVED_PREFIXES)]
        assert meta['derived'] == (sorted(derived) if layout == 'siglip2' else [])


def test_siglip2_extras_are_derived_from_the_stored_tensors(folders):
    folder = cf.read_checkpoint_folder(folders['siglip2'])
    state = folder.state
    assert state['text_encoder.long_pos_ori'].shape == (196, 32)
    torch.testing.assert_close(state['text_encoder.long_pos_ori'][:20],
                               state['text_encoder.pos_embed'][:20], rtol=0, atol=0)
    for walk in ('boxtext_head', 'longtext_head'):
        assert torch.equal(state[f'text_encoder.{walk}.weight'],
                           state['text_encoder.head.weight'])
    assert torch.equal(state['vision_backbone.dense_head.probe'],
                       state['vision_backbone.head.probe'])
    with pytest.raises(ValueError, match='text head'):
        cf.siglip2_extras(dict(state, **{'text_encoder.head.weight': torch.zeros(8, 32)}),
                          folder.arch)


def test_config_reads_are_cached_per_file_version(folders, tmp_path, monkeypatch):
    reads = []
    original = cf.read_model_config
    monkeypatch.setattr(cf, 'read_model_config',
                        lambda *args: reads.append(args) or original(*args))
    cf.clear_config_cache()
    folder = tmp_path / 'copy'
    write_official_folder(folder, official_state_dict(seed=4), official_config())
    layout, meta, arch = cf.read_folder_config(str(folder))
    meta['hf_config']['text_config']['hidden_size'] = -1  # callers get copies
    again = cf.read_folder_config(str(folder))
    cf.read_checkpoint_folder(str(folder))
    assert len(reads) == 1 and again[1]['hf_config']['text_config']['hidden_size'] == 32
    config = json.loads((folder / 'config.json').read_text())
    config['text_config']['intermediate_size'] = 41  # a rewritten file is read again
    (folder / 'config.json').write_text(json.dumps(config, indent=4))
    assert cf.read_folder_config(str(folder))[2]['text']['mlp_dims'] == 41
    assert len(reads) == 2


def test_bad_folders_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match='neither'):
        cf.read_checkpoint_folder(str(tmp_path))
    (tmp_path / 'fgclip2_mm_config.json').write_text(json.dumps(
        dict(format='fgclip2_mm', model=dict(arch='tiny'))))
    with pytest.raises(ValueError, match='has no fgclip2_mm.safetensors'):
        cf.read_checkpoint_folder(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='huggingface-cli download'):
        _target(str(tmp_path), dict(type='FGCLIP2Pretrained',
                                    checkpoint=str(tmp_path / 'missing'))).init_weights()
