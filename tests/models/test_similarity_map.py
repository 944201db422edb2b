"""Similarity maps (``fgclip2_mm.apis.similarity_maps``) and ``tools/similarity_map_demo.py``
on a tiny random checkpoint saved in our folder layout."""
import numpy as np
import pytest
import torch
from PIL import Image

from fgclip2_mm.testing import load_script

CORPUS = ('red car', 'a blue dog', '红色的车', '蓝色的狗')


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    from fgclip2_mm.synthetic_world.tokenizer import build_tokenizer, save_tokenizer
    from fgclip2_mm.testing import write_tiny_checkpoint
    root = tmp_path_factory.mktemp('simmap')
    save_tokenizer(build_tokenizer(list(CORPUS)), str(root / 'tokenizer'))
    return write_tiny_checkpoint(str(root / 'ckpt'), str(root / 'tokenizer'))


@pytest.fixture(scope='module')
def image_path(tmp_path_factory):
    path = tmp_path_factory.mktemp('simmap_img') / 'scene.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (72, 120, 3), dtype=np.uint8)).save(path)
    return path


def test_maps_are_patch_cosines_with_the_box_walk(ckpt, image_path):
    from fgclip2_mm.apis import (dense_feature_map, encode_texts, load_fgclip2,
                                 similarity_maps)
    model = load_fgclip2(ckpt)
    out = similarity_maps(model, image_path, ['red car', '红色的车'], ckpt)
    assert out['maps'].shape == (2, 72, 120) and out['image'].shape == (72, 120, 3)
    dense = dense_feature_map(model, image_path)
    emb = encode_texts(model, ['red car', '红色的车'], ckpt, 'box')
    expected = torch.einsum('hwd,td->thw', dense, emb).numpy()
    np.testing.assert_allclose(out['grid'], expected, atol=1e-5)
    assert np.abs(out['grid']).max() <= 1.0 + 1e-5
    with pytest.raises(ValueError):
        similarity_maps(model, image_path, [], ckpt)


def test_demo_writes_one_picture_per_text(ckpt, image_path, tmp_path):
    demo = load_script('tools/similarity_map_demo.py')
    out = tmp_path / 'out'
    assert demo.main([str(image_path), '--texts', 'red car', '红色的车', '--checkpoint', ckpt,
                      '--out', str(out)]) == 0
    pictures = sorted(p.name for p in out.glob('*.png'))
    assert len(pictures) == 2
    for name in pictures:
        assert Image.open(out / name).size[0] > 100
    from fgclip2_mm.visualization.fonts import find_cjk_font
    labels = out / 'labels.txt'
    if find_cjk_font() is None:  # no CJK font: the Chinese title goes to the labels file
        assert '红色的车' in labels.read_text(encoding='utf-8')
    else:
        assert not labels.exists()


def test_demo_refuses_a_missing_image(ckpt, tmp_path, capsys):
    demo = load_script('tools/similarity_map_demo.py')
    with pytest.raises(SystemExit) as exc:
        demo.main([str(tmp_path / 'nope.png'), '--texts', 'red car', '--checkpoint', ckpt])
    assert exc.value.code == 2 and 'nope.png' in capsys.readouterr().err
