"""Fixtures of the bad-input tests: a tiny random FG-CLIP 2 checkpoint in our folder layout
with a Gemma-layout BPE tokenizer (the synthetic world's trainer), and small images."""
import numpy as np
import pytest
from PIL import Image

CORPUS = ('a photo of a red car', 'a cat on the grass', 'a blue dog', 'red circle',
          '一只猫', '红色的车', '蓝色的狗')


@pytest.fixture(scope='session')
def tiny_ckpt(tmp_path_factory):
    """A random ``FGCLIP2(arch='tiny')`` saved with :func:`save_fgclip2` + tokenizer files."""
    from fgclip2_mm.synthetic_world.tokenizer import build_tokenizer, save_tokenizer
    from fgclip2_mm.testing import write_tiny_checkpoint
    root = tmp_path_factory.mktemp('robust_ckpt')
    save_tokenizer(build_tokenizer([t.lower() for t in CORPUS]), str(root / 'tokenizer'))
    return write_tiny_checkpoint(str(root / 'ckpt'), str(root / 'tokenizer'))


@pytest.fixture(scope='session')
def tiny_loaded(tiny_ckpt):
    from fgclip2_mm.apis import load_fgclip2
    return load_fgclip2(tiny_ckpt)


@pytest.fixture(scope='session')
def image_files(tmp_path_factory):
    """``cat.jpg`` (120 x 200), ``wide.png`` (40 x 300), a text file named ``notes.jpg``,
    an empty ``empty.png`` and a truncated ``cut.jpg``; returns their folder."""
    folder = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)).save(folder / 'cat.jpg')
    Image.fromarray(rng.integers(0, 256, (40, 300, 3), dtype=np.uint8)).save(folder / 'wide.png')
    (folder / 'notes.jpg').write_text('not an image\n')
    (folder / 'empty.png').write_bytes(b'')
    data = (folder / 'cat.jpg').read_bytes()
    (folder / 'cut.jpg').write_bytes(data[:len(data) // 3])
    return folder
