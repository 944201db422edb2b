"""``tools/model_converters/fgclip2_to_siglip2_vision.py``: the vision tower as a plain
transformers ``Siglip2VisionModel`` folder (no remote code), checked against our tower."""
import json
import os

import pytest
import torch

from fgclip2_mm.apis import load_fgclip2, save_fgclip2
from .helpers import naflex_batch, official_config, official_state_dict, write_official_folder
from .test_converters import _main as _run_main

transformers = pytest.importorskip('transformers')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tools', 'model_converters', 'fgclip2_to_siglip2_vision.py')
ATOL = 1e-5  # fp32
# Two batches of different sequence lengths, both with padded images.
BATCHES = ([[3, 5], [2, 2], [1, 7]], 16), ([[4, 6], [5, 5], [2, 9], [6, 6]], 36)


def _main(*args):
    return _run_main(SCRIPT, *args)


def _load_hf(folder, impl):
    model, info = transformers.Siglip2VisionModel.from_pretrained(
        str(folder), attn_implementation=impl, output_loading_info=True)
    assert not any(info.values()), info  # no missing / unexpected / mismatched keys
    return model.eval()


def _assert_parity(tower, hf):
    for shapes, num_tokens in BATCHES:
        batch = naflex_batch(shapes, num_tokens=num_tokens, seed=num_tokens)
        assert batch['pixel_attention_mask'].sum() < batch['pixel_attention_mask'].numel()
        with torch.no_grad():
            ref = hf(**batch)
            feats = tower.forward_tokens(**batch)
            pooled = tower.head(feats['tokens'], feats['key_mask'])
        valid = batch['pixel_attention_mask'].bool()
        torch.testing.assert_close(feats['tokens'][valid], ref.last_hidden_state[valid],
                                   rtol=0, atol=ATOL)
        torch.testing.assert_close(pooled, ref.pooler_output, rtol=0, atol=ATOL)


@pytest.mark.parametrize('impl', ['eager', 'sdpa'])
def test_our_folder_exports_a_siglip2_vision_model(tiny_model, tmp_path, impl):
    save_fgclip2(tiny_model, tmp_path / 'ours')
    assert _main(tmp_path / 'ours', tmp_path / 'siglip2') == (0, '')
    config = json.loads((tmp_path / 'siglip2' / 'config.json').read_text())
    assert config['model_type'] == 'siglip2_vision_model' and 'auto_map' not in config
    processor = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / 'siglip2'))
    assert processor.patch_size == 16 and processor.max_num_patches == 256
    _assert_parity(tiny_model.vision_backbone, _load_hf(tmp_path / 'siglip2', impl))


def test_official_folder_exports_too(tmp_path):
    write_official_folder(tmp_path / 'hf', official_state_dict(seed=3), official_config())
    (tmp_path / 'hf' / 'preprocessor_config.json').write_text(json.dumps(dict(
        image_processor_type='Siglip2ImageProcessor', patch_size=16, max_num_patches=1024)))
    assert _main(tmp_path / 'hf', tmp_path / 'siglip2')[0] == 0
    processor = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / 'siglip2'))
    assert processor.max_num_patches == 1024  # the checkpoint's own file is kept
    ours = load_fgclip2(str(tmp_path / 'hf'), attn_impl='eager')
    _assert_parity(ours.vision_backbone, _load_hf(tmp_path / 'siglip2', 'eager'))


def test_bad_input_gives_one_line_errors(tiny_model, tmp_path):
    code, err = _main(tmp_path / 'nowhere', tmp_path / 'out')
    assert code == 2 and 'is not a folder' in err
    save_fgclip2(tiny_model, tmp_path / 'ours')
    code, err = _main(tmp_path / 'ours', tmp_path / 'ours', '--overwrite')
    assert code == 2 and 'checkpoint folder itself' in err
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('')
    code, err = _main(tmp_path / 'ours', tmp_path / 'full')
    assert code == 2 and 'not empty' in err
    code, err = _main(tmp_path / 'ours', tmp_path / 'o2', '--max-num-patches', '0')
    assert code == 2 and '--max-num-patches' in err
