"""Bad model config files -> one ``ValueError`` naming the file and the key, before any
model is built (no hang on a huge allocation, no crash at the first forward)."""
import copy
import json

import pytest

from fgclip2_mm.apis import load_fgclip2
from fgclip2_mm.models.utils import arch_to_hf_config, get_arch
from fgclip2_mm.models.utils.model_config import read_model_config

TINY_HF = arch_to_hf_config(get_arch('tiny'))


def _hf(part=None, **values):
    config = copy.deepcopy(TINY_HF)
    (config if part is None else config[f'{part}_config']).update(values)
    return config


# (id, config.json content (dict, or raw text), expected message after the path)
HF_ROWS = [
    ('negative_heads', _hf('vision', num_attention_heads=-4),
     'vision_config.num_attention_heads=-4 is out of range: expected an integer in [1, 1024]'),
    ('a_million_layers', _hf('text', num_hidden_layers=1_000_000),
     'text_config.num_hidden_layers=1000000 is out of range'),
    ('width_as_string', _hf('vision', hidden_size='32'),
     "vision_config.hidden_size='32' must be an integer, got str"),
    ('width_1e9', _hf('vision', hidden_size=1e9),
     'vision_config.hidden_size=1000000000.0 must be an integer, got float'),
    ('width_as_bool', _hf('text', hidden_size=True), 'text_config.hidden_size=True must be an '
                                                     'integer'),
    ('heads_do_not_divide', _hf('text', num_attention_heads=5),
     'text_config.hidden_size=32 is not divisible by text_config.num_attention_heads=5'),
    ('huge_vocabulary', _hf('text', vocab_size=10**9), 'text_config.vocab_size=1000000000 is '
                                                       'out of range'),
    ('too_many_parameters', _hf('vision', hidden_size=16384, intermediate_size=131072,
                                num_hidden_layers=256, num_attention_heads=16),
     'more than the 20 B a tower may have'),
    ('bad_eps', _hf('vision', layer_norm_eps=-1), 'vision_config.layer_norm_eps=-1 must be a '
                                                  'number in (0, 1)'),
    ('non_square_patches', _hf('vision', num_patches=15), 'vision_config.num_patches=15 is '
                                                          'not a square'),
    ('keep_len_too_long', _hf('text', keep_len=100), 'text_config.keep_len=100 must lie in'),
    ('unknown_activation', _hf('text', hidden_act='relu'), "text_config.hidden_act='relu' is "
                                                           'not supported'),
    ('missing_width', {k: v for k, v in _hf().items() if k != 'vision_config'},
     'config.json has no "vision_config" section'),
    ('wrong_model_type', _hf(model_type='bert'), "model_type='bert', expected one of"),
    ('empty_file', '', 'the file is empty'),
    ('blank_file', '  \n', 'the file is empty'),
    ('invalid_json', '{"model_type": "fgclip2",', 'not valid JSON: Expecting'),
    ('a_list', '[1, 2]', 'must hold a JSON object, got list'),
    ('deeply_nested', '[' * 100_000 + ']' * 100_000, 'nested too deeply'),
    ('not_utf8', b'{"model_type": "\xff"}', 'not UTF-8 text'),
]


def _write(path, content):
    if isinstance(content, dict):
        content = json.dumps(content, indent=2)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)


@pytest.mark.parametrize('row_id, content, message', HF_ROWS, ids=[r[0] for r in HF_ROWS])
def test_bad_config_json_names_file_and_key(tmp_path, row_id, content, message):
    folder = tmp_path / 'ckpt'
    folder.mkdir()
    _write(folder / 'config.json', content)
    with pytest.raises(ValueError) as info:
        read_model_config(str(folder / 'config.json'), 'hf')
    assert str(info.value).startswith(f'{folder / "config.json"}: ')
    assert message in str(info.value)
    # the loader checks the file before it looks for weights or builds anything
    with pytest.raises(ValueError, match='config.json: ') as info:
        load_fgclip2(str(folder))
    assert message in str(info.value)


MM_ROWS = [
    ('not_our_format', {'format': 'other', 'model': {}}, 'not an fgclip2_mm config'),
    ('unknown_arch_name', {'format': 'fgclip2_mm', 'model': {'arch': 'huge'}},
     "unknown arch 'huge'"),
    ('negative_heads', {'format': 'fgclip2_mm', 'model': {'arch': dict(
        get_arch('tiny'), vision=dict(get_arch('tiny')['vision'], num_heads=-4))}},
     "arch['vision'].num_heads=-4 is out of range"),
    ('empty_file', '', 'the file is empty'),
]


@pytest.mark.parametrize('row_id, content, message', MM_ROWS, ids=[r[0] for r in MM_ROWS])
def test_bad_fgclip2_mm_config_names_file_and_key(tmp_path, row_id, content, message):
    _write(tmp_path / 'fgclip2_mm_config.json', content)
    with pytest.raises(ValueError) as info:
        load_fgclip2(str(tmp_path))
    assert str(info.value).startswith(f'{tmp_path / "fgclip2_mm_config.json"}: ')
    assert message in str(info.value)


def test_valid_configs_still_read(tmp_path):
    """The released sizes and the tiny test size pass the checks unchanged."""
    for name in ('base', 'large', 'so400m', 'small', 'tiny'):
        _write(tmp_path / 'config.json', arch_to_hf_config(get_arch(name)))
        config, arch = read_model_config(str(tmp_path / 'config.json'), 'hf')
        assert arch == get_arch(name) and config['model_type'] == 'fgclip2'
    with pytest.raises(ValueError, match="layout must be one of"):
        read_model_config(str(tmp_path / 'config.json'), 'json')
