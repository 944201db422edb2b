"""Bad input to ``fgclip2_mm.apis``: every case is one clear error, raised before any work,
that names the image / box / text and what is wrong (issue 15)."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fgclip2_mm.apis import (dense_feature_map, encode_images, encode_regions, encode_texts,
                             load_fgclip2, match_probs)
from fgclip2_mm.apis.similarity_map import similarity_maps

GOOD = [[10, 20, 100, 110]]


def regions(boxes, image='cat.jpg', **kwargs):
    return lambda m, d, t: encode_regions(m, str(d / image), boxes, **kwargs)


# (id, call(model, image folder, tokenizer folder), exception, message regex)
CASES = [
    # boxes (cat.jpg is 200 x 120)
    ('box-nan', regions([[math.nan, 0, 10, 10]]), ValueError,
     r'image 0 box 0 \[nan, 0, 10, 10\]: coordinates must be finite'),
    ('box-inf', regions([[0, 0, math.inf, 10]]), ValueError, 'box 0 .*must be finite'),
    ('box-3-numbers', regions([[0, 0, 10]]), ValueError,
     'box 0: expected exactly 4 numbers x1, y1, x2, y2, got 3'),
    ('box-5-numbers', regions(np.zeros((2, 5))), ValueError, 'box 0: .*exactly 4 numbers.*got 5'),
    ('box-string', regions([[0, 0, '10', 10]]), ValueError, 'box 0: .*not a number'),
    ('box-none', regions([None]), ValueError, 'box 0: expected 4 numbers'),
    ('box-flat-list', regions([0, 0, 10, 10]), ValueError,
     r'flat list of 4 numbers; write one box as \[\[x1, y1, x2, y2\]\]'),
    ('box-1d-array', regions(np.array([0., 0, 10, 10])), ValueError, r'shape \(4,\)'),
    ('box-zero-area', regions([[5, 5, 5, 20]]), ValueError, 'box 0 .*zero or negative area'),
    ('box-inverted', regions([[50, 50, 10, 10]]), ValueError, 'zero or negative area'),
    ('box-negative', regions([[-10, 0, 20, 20]]), ValueError,
     r'box 0 \[-10, 0, 20, 20\]: leaves the 200 x 120 \(W x H\) image; pass clip=True'),
    ('box-outside', regions([[300, 0, 400, 50]]), ValueError, 'leaves the 200 x 120'),
    ('box-outside-clip', regions([[300, 0, 400, 50]], clip=True), ValueError,
     'lies entirely outside the 200 x 120'),
    ('box-second-bad', regions([[0, 0, 10, 10], [0, 0, 10, 500]]), ValueError,
     'image 0 box 1 .*leaves'),
    ('box-second-image', lambda m, d, t: encode_regions(
        m, [d / 'cat.jpg', d / 'wide.png'], [GOOD, [[0, 0, 10, 41]]]), ValueError,
     'image 1 box 0 .*leaves the 300 x 40'),
    ('boxes-per-image-count', lambda m, d, t: encode_regions(
        m, [d / 'cat.jpg', d / 'wide.png'], [GOOD]), ValueError,
     'one \\(K_i, 4\\) entry per image: 2 images, got 1'),
    ('boxes-type', regions('0 0 10 10'), TypeError, 'boxes must be a \\(K, 4\\) array'),
    # image files
    ('missing-str', lambda m, d, t: encode_images(m, [str(d / 'cat.jpg'), str(d / 'nope.jpg')]),
     FileNotFoundError, r"image 1 \('.*nope\.jpg'\): image file not found"),
    ('missing-path', lambda m, d, t: encode_regions(m, d / 'nope.jpg', GOOD), FileNotFoundError,
     r"image 0 \('.*nope\.jpg'\): image file not found"),
    ('text-as-jpg', lambda m, d, t: encode_images(m, d / 'notes.jpg'), ValueError,
     r"image 0 \('.*notes\.jpg'\): cannot read the file as an image"),
    ('zero-byte', lambda m, d, t: encode_images(m, [d / 'cat.jpg', d / 'empty.png']), ValueError,
     r"image 1 \('.*empty\.png'\): cannot read the file as an image"),
    ('truncated', lambda m, d, t: encode_images(m, d / 'cut.jpg'), OSError,
     r"image 0: .*cannot decode image file '.*cut\.jpg'"),
    ('folder-as-image', lambda m, d, t: encode_regions(m, d, GOOD), ValueError, 'is a folder'),
    ('empty-folder', lambda m, d, t: encode_images(m, d / 'empty_dir'), ValueError,
     r"input folder '.*empty_dir' holds no image file"),
    ('empty-list', lambda m, d, t: encode_images(m, []), ValueError, 'no image given'),
    ('dense-list', lambda m, d, t: dense_feature_map(m, [d / 'cat.jpg']), ValueError,
     'takes one image'),
    # arrays and objects
    ('float01-array', lambda m, d, t: encode_images(m, np.random.rand(32, 32, 3)), ValueError,
     r'image 0: float64 array; float arrays are ambiguous \(\[0, 1\] or \[0, 255\]\)'),
    ('float32-array', lambda m, d, t: encode_regions(m, np.zeros((32, 32, 3), np.float32), GOOD),
     ValueError, 'float32 array; float arrays are ambiguous'),
    ('uint16-array', lambda m, d, t: encode_images(m, np.zeros((8, 8, 3), np.uint16)),
     ValueError, 'uint16 array; expected uint8 RGB'),
    ('rgba-array', lambda m, d, t: encode_images(m, np.zeros((8, 8, 4), np.uint8)), ValueError,
     r'array of shape \(8, 8, 4\); expected \(H, W, 3\)'),
    ('empty-array', lambda m, d, t: encode_images(m, np.zeros((0, 8, 3), np.uint8)), ValueError,
     'empty array'),
    ('not-an-image', lambda m, d, t: encode_images(m, [d / 'cat.jpg', 42]), TypeError,
     'image 1: expected a file path .*got int'),
    # texts and options
    ('empty-vocabulary', lambda m, d, t: encode_texts(m, [], t), ValueError,
     'no text given \\(an empty vocabulary\\)'),
    ('text-not-str', lambda m, d, t: encode_texts(m, ['cat', None], t), TypeError,
     'text 1: expected a string, got NoneType'),
    ('cache-unnormalised', lambda m, d, t: encode_texts(m, ['cat'], t, normalize=False,
                                                        cache_dir=str(d / 'c')),
     ValueError, 'cache_dir needs normalize=True'),
    ('similarity-no-text', lambda m, d, t: similarity_maps(m, d / 'cat.jpg', [], t),
     ValueError, 'empty vocabulary'),
    ('match-missing-image', lambda m, d, t: match_probs(m, 'nope.jpg', ['cat'], t),
     FileNotFoundError, 'nope.jpg'),
    ('batch-size-zero', lambda m, d, t: encode_images(m, d / 'cat.jpg', batch_size=0),
     ValueError, 'batch_size must be a positive int, got 0'),
    ('checkpoint-missing', lambda m, d, t: load_fgclip2(d / 'no_ckpt'), ValueError,
     'is not a folder'),
]


@pytest.fixture(scope='module')
def folder(image_files):
    (image_files / 'empty_dir').mkdir(exist_ok=True)
    return image_files


@pytest.mark.parametrize('call,error,match', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(tiny_loaded, tiny_ckpt, folder, call, error, match):
    with pytest.raises(error, match=match):
        call(tiny_loaded, folder, tiny_ckpt)


def test_errors_come_before_any_forward(tiny_loaded, folder, monkeypatch):
    """A bad box of the last image stops the call before the vision tower runs once."""
    calls = []
    real = tiny_loaded.get_image_region_features
    monkeypatch.setattr(tiny_loaded, 'get_image_region_features',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    images = [folder / 'cat.jpg'] * 20 + [folder / 'wide.png']
    with pytest.raises(ValueError, match='image 20 box 0'):
        encode_regions(tiny_loaded, images, [GOOD] * 20 + [[[0, 0, 10, 99]]], batch_size=4)
    assert not calls
    with pytest.raises(FileNotFoundError, match='image 20'):
        encode_images(tiny_loaded, images[:20] + [folder / 'missing.png'])


def test_clip_true_clips_to_the_image(tiny_loaded, folder):
    image = folder / 'cat.jpg'
    clipped = encode_regions(tiny_loaded, image, [[-30, -5, 250, 60], [150, 100, 400, 300]],
                             clip=True)[0]
    inside = encode_regions(tiny_loaded, image, [[0, 0, 200, 60], [150, 100, 200, 120]])[0]
    torch.testing.assert_close(clipped, inside)
    # a box on the border is inside (no clip needed)
    assert encode_regions(tiny_loaded, image, [[0, 0, 200, 120]])[0].shape == (1, 32)


def test_paths_str_and_pathlib_equal_pil(tiny_loaded, folder):
    from PIL import Image
    path = folder / 'cat.jpg'
    pil = Image.open(path)
    ref = encode_images(tiny_loaded, pil)
    for source in (str(path), Path(path), [path]):
        torch.testing.assert_close(encode_images(tiny_loaded, source), ref)
