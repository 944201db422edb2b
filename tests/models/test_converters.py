"""Checkpoint conversion: pure key maps, the two CLIs, bit-exact round trips."""
import contextlib
import io
import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from fgclip2_mm.apis import load_fgclip2, save_fgclip2
from fgclip2_mm.testing import load_script
from fgclip2_mm.models.utils import (arch_to_hf_config, get_arch, hf_config_to_arch, hf_to_mm,
                                     mm_to_hf)
from .helpers import MIXED_SHAPES, naflex_batch, official_config, official_state_dict, \
    write_official_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HF_TO_MM = os.path.join(ROOT, 'tools', 'model_converters', 'fgclip2_hf_to_mm.py')
MM_TO_HF = os.path.join(ROOT, 'tools', 'model_converters', 'fgclip2_mm_to_hf.py')


def _run(script, *args):
    """Run a converter CLI as a user would (a separate process)."""
    return subprocess.run([sys.executable, script, *map(str, args)],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          timeout=120)


def _main(script, *args):
    """Run a converter's ``main`` in-process (fast); returns (exit code, stderr)."""
    module = load_script(script)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = module.main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
    return code, err.getvalue()


def _assert_same_tensors(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def test_key_maps_are_inverse(tiny_model):
    ours = tiny_model.state_dict()
    official, unknown = mm_to_hf(ours)
    assert unknown == []
    assert 'text_model.encoder.layers.1.self_attn.k_proj.weight' in official
    assert 'vision_model.head.attention.in_proj_weight' in official
    assert 'dense_feature_head.attention.out_proj.bias' in official
    assert 'logit_scale_finegraind' in official
    back, unknown = hf_to_mm(official)
    assert unknown == []
    _assert_same_tensors(back, ours)
    lean, _ = mm_to_hf(ours, with_extras=False)
    assert 'logit_scale_finegraind' not in lean and 'logit_scale_hardneg' not in lean
    with pytest.raises(ValueError, match='incomplete q/k/v'):
        hf_to_mm({k: v for k, v in official.items() if 'layers.0.self_attn.v_proj' not in k})


def test_config_round_trip():
    arch = get_arch('tiny')
    config = arch_to_hf_config(arch)
    assert config['model_type'] == 'fgclip2' and config['architectures'] == ['Fgclip2Model']
    assert config['text_config']['keep_len'] == 20
    assert config['text_config']['longtext_len'] == 196
    assert config['vision_config']['num_patches'] == 16
    assert config['projection_size'] == 32
    assert hf_config_to_arch(config) == arch
    # transformers' own Siglip2Config.to_dict() layout is read as well.
    from .helpers import hf_tiny_config
    assert hf_config_to_arch(hf_tiny_config().to_dict()) == arch
    with pytest.raises(ValueError, match='no "vision_config"'):
        hf_config_to_arch({'text_config': {}})


def test_cli_round_trip_is_bit_exact(tmp_path, tiny_tokenizer_dir):
    src = tmp_path / 'hf'
    state = official_state_dict(seed=11)
    state['vision_model.post_layernorm.weight'] = state['vision_model.post_layernorm.weight'] \
        .to(torch.bfloat16)  # mixed dtypes survive untouched
    config = official_config()
    write_official_folder(src, state, config, tokenizer_dir=tiny_tokenizer_dir)
    code, err = _main(HF_TO_MM, src, tmp_path / 'mm')
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / 'mm')) == [
        'fgclip2_mm.safetensors', 'fgclip2_mm_config.json', 'tokenizer.json',
        'tokenizer_config.json'
    ]
    code, err = _main(MM_TO_HF, tmp_path / 'mm', tmp_path / 'hf2')
    assert code == 0, err
    _assert_same_tensors(load_file(str(tmp_path / 'hf2' / 'model.safetensors')), state)
    config2 = json.loads((tmp_path / 'hf2' / 'config.json').read_text())
    assert config2 == json.loads((src / 'config.json').read_text())  # kept as is
    for name in ('tokenizer.json', 'tokenizer_config.json'):
        assert (tmp_path / 'hf2' / name).read_bytes() == (src / name).read_bytes()
    # Both folders load to the same model.
    batch = naflex_batch(MIXED_SHAPES)
    models = [load_fgclip2(tmp_path / name) for name in ('hf', 'mm', 'hf2')]
    with torch.no_grad():
        outs = [m.get_image_dense_feature(**batch) for m in models]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_saved_model_round_trip(tmp_path, tiny_model):
    save_fgclip2(tiny_model, tmp_path / 'ours')
    loaded = load_fgclip2(tmp_path / 'ours', attn_impl='eager')
    _assert_same_tensors(loaded.state_dict(), tiny_model.state_dict())
    assert loaded.vision_backbone.layers[0].attn.attn_impl == 'eager'
    code, err = _main(MM_TO_HF, tmp_path / 'ours', tmp_path / 'hf', '--no-extras')
    assert code == 0, err
    official = load_file(str(tmp_path / 'hf' / 'model.safetensors'))
    assert 'logit_scale_finegraind' not in official
    config = json.loads((tmp_path / 'hf' / 'config.json').read_text())
    assert config['text_config']['vocab_size'] == 1024
    assert config['vision_config']['intermediate_size'] == 37
    reloaded = load_fgclip2(tmp_path / 'hf')  # region scales missing: kept at ln(100)
    assert reloaded.logit_scale_region.item() == pytest.approx(4.6052, abs=1e-4)
    ids = torch.randint(0, 1024, (2, 196))
    with torch.no_grad():
        torch.testing.assert_close(
            reloaded.get_text_features(ids, 'long'),
            tiny_model.get_text_features(ids, 'long'),
            rtol=0,
            atol=0)


@pytest.mark.parametrize('script,args,match', [
    (HF_TO_MM, ['{tmp}/nowhere', '{tmp}/out'], 'is not a folder'),
    (HF_TO_MM, ['{tmp}'], 'the following arguments are required: dst'),
    (HF_TO_MM, ['{tmp}/empty', '{tmp}/out'], 'neither fgclip2_mm_config.json'),
    (HF_TO_MM, ['{tmp}/hf', '{tmp}/full'], 'is not empty'),
    (MM_TO_HF, ['{tmp}/hf', '{tmp}/out'], 'not an fgclip2_mm checkpoint folder'),
    (MM_TO_HF, ['{tmp}/hf', '{tmp}/out', '--bogus'], 'unrecognized arguments: --bogus'),
    (HF_TO_MM, ['{tmp}/broken', '{tmp}/out'], 'broken'),
])
def test_cli_errors_are_one_line(tmp_path, script, args, match):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('x')
    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'config.json').write_text(json.dumps(official_config()))
    (tmp_path / 'broken' / 'model.safetensors').write_bytes(b'not a safetensors file')
    write_official_folder(tmp_path / 'hf', {'logit_scale': torch.zeros(1)}, official_config())
    code, err = _main(script, *[a.format(tmp=tmp_path) for a in args])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert 'error' in lines[0]
    if match != 'broken':
        assert match in lines[0]


def test_cli_error_in_a_real_process(tmp_path):
    result = _run(MM_TO_HF, tmp_path / 'missing', tmp_path / 'out')
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr.strip().splitlines() == [
        f"fgclip2_mm_to_hf: error: '{tmp_path / 'missing'}' is not a folder (expected an "
        'FG-CLIP 2 checkpoint folder)'
    ]
