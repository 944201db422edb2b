"""Converter output folders: ``dst == src`` refused, never written through a symlink, a
failed conversion leaves the folder as it was, files get the process umask."""
import contextlib
import io
import os
import stat

import pytest
import torch

from fgclip2_mm.apis import save_fgclip2
from fgclip2_mm.models import FGCLIP2
from fgclip2_mm.testing import load_script
from fgclip2_mm.utils.output_folder import write_output_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = {name: os.path.join(ROOT, 'tools', 'model_converters', f'{name}.py')
           for name in ('fgclip2_mm_to_hf', 'fgclip2_hf_to_mm', 'fgclip2_to_siglip2_vision')}
WRITES = {'fgclip2_mm_to_hf': 'model.safetensors', 'fgclip2_hf_to_mm': 'fgclip2_mm.safetensors',
          'fgclip2_to_siglip2_vision': 'model.safetensors'}


def _main(name, *args):
    module = load_script(SCRIPTS[name])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = module.main([str(a) for a in args])
    return code, err.getvalue()


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """``{'mm': our tiny folder, 'hf': the same converted to the official layout}``."""
    root = tmp_path_factory.mktemp('ckpt')
    torch.manual_seed(0)
    save_fgclip2(FGCLIP2(arch='tiny'), str(root / 'mm'))
    assert _main('fgclip2_mm_to_hf', root / 'mm', root / 'hf')[0] == 0
    return {'mm': root / 'mm', 'hf': root / 'hf'}


def _source(name, folders):
    return folders['hf' if name == 'fgclip2_hf_to_mm' else 'mm']


def _snapshot(folder):
    return {p: (folder / p).read_bytes() for p in sorted(os.listdir(folder))}


# (id, how the destination is made from the source, expected error text)
ROWS = [
    ('dst_is_src', lambda src, tmp: src, 'is the checkpoint folder itself'),
    ('dst_is_src_via_symlink', lambda src, tmp: _link(tmp / 'alias', src),
     'is the checkpoint folder itself'),
    ('dst_is_a_file', lambda src, tmp: _file(tmp / 'out'), 'exists and is not a folder'),
    ('dst_not_empty', lambda src, tmp: _file(tmp / 'out' / 'notes.txt').parent,
     'is not empty (use --overwrite)'),
]


def _link(path, target):
    path.symlink_to(target, target_is_directory=True)
    return path


def _file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('mine')
    return path


@pytest.mark.parametrize('name', sorted(SCRIPTS))
@pytest.mark.parametrize('row_id, make_dst, message', ROWS, ids=[r[0] for r in ROWS])
def test_bad_destination_is_refused_before_writing(folders, tmp_path, name, row_id, make_dst,
                                                   message):
    src = _source(name, folders)
    before = _snapshot(src)
    dst = make_dst(src, tmp_path)
    code, err = _main(name, src, dst)
    assert code == 2 and message in err, err
    assert _snapshot(src) == before  # nothing written into the source


@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_symlink_in_destination_is_replaced_not_followed(folders, tmp_path, name):
    outside = _file(tmp_path / 'outside' / 'precious.bin')
    dst = tmp_path / 'out'
    dst.mkdir()
    (dst / WRITES[name]).symlink_to(outside)
    assert _main(name, _source(name, folders), dst, '--overwrite')[0] == 0
    assert outside.read_text() == 'mine'  # the link's target is untouched
    assert not (dst / WRITES[name]).is_symlink() and (dst / WRITES[name]).stat().st_size > 100
    assert not [n for n in os.listdir(dst) if n.startswith('.fgclip2_mm_tmp_')]


@pytest.mark.parametrize('name', sorted(SCRIPTS))
@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(folders, tmp_path, name, umask):
    old = os.umask(umask)
    try:
        assert _main(name, _source(name, folders), tmp_path / 'out')[0] == 0
    finally:
        os.umask(old)
    modes = {n: stat.S_IMODE((tmp_path / 'out' / n).stat().st_mode)
             for n in os.listdir(tmp_path / 'out')}
    assert WRITES[name] in modes and set(modes.values()) == {0o666 & ~umask}, modes


def test_failed_conversion_leaves_the_destination_as_it_was(folders, tmp_path):
    dst = tmp_path / 'out'
    _file(dst / 'model.safetensors')
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'fgclip2_mm_config.json').write_text('')  # empty: refused with its path
    code, err = _main('fgclip2_mm_to_hf', broken, dst, '--overwrite')
    assert code == 2 and 'fgclip2_mm_config.json: the file is empty' in err
    assert sorted(os.listdir(dst)) == ['model.safetensors']
    assert (dst / 'model.safetensors').read_text() == 'mine'

    def half_way(out):
        (open(os.path.join(out, 'model.safetensors'), 'w')).close()
        raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        write_output_folder(str(folders['mm']), str(dst), half_way, overwrite=True)
    assert sorted(os.listdir(dst)) == ['model.safetensors']
    assert (dst / 'model.safetensors').read_text() == 'mine'
