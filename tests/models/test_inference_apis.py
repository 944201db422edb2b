"""High-level helpers of ``fgclip2_mm.apis`` on PIL / numpy images and EN / ZH texts."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fgclip2_mm.apis import (dense_feature_map, encode_images, encode_regions, encode_texts,
                             load_fgclip2, match_probs, prepare_images, save_fgclip2)

pytest.importorskip('transformers')
Image = pytest.importorskip('PIL.Image')


def _images():
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (40, 200, 3), dtype=np.uint8)
    tall = Image.fromarray(rng.integers(0, 256, (120, 50, 3), dtype=np.uint8))
    gray = Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8))  # mode L
    return [wide, tall, gray]


def test_prepare_images_uses_the_dynamic_budget():
    batch = prepare_images(_images())
    assert batch['image_sizes'].tolist() == [[40, 200], [120, 50], [64, 64]]
    shapes = batch['spatial_shapes']
    assert (shapes.prod(-1) <= 128).all()  # every image is small: bucket 128
    assert batch['pixel_values'].shape == (3, int(shapes.prod(-1).max()), 768)
    fixed = prepare_images(_images()[0], max_num_patches=16)
    assert int(fixed['spatial_shapes'].prod()) <= 16


def test_encode_images_matches_the_model(tiny_model):
    images = _images()
    emb = encode_images(tiny_model, images)
    assert emb.shape == (3, 32)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    batch = prepare_images(images)
    with torch.no_grad():
        ref = tiny_model.get_image_features(batch['pixel_values'], batch['pixel_attention_mask'],
                                            batch['spatial_shapes'])
    torch.testing.assert_close(emb, F.normalize(ref, dim=-1))
    one = encode_images(tiny_model, images[1], max_num_patches=128)
    torch.testing.assert_close(one[0], emb[1], rtol=0, atol=1e-5)


def test_encode_texts_en_zh_and_walks(tiny_model, tiny_tokenizer_dir):
    texts = ['A photo of the red CAT', '一只 猫']
    short = encode_texts(tiny_model, texts, str(tiny_tokenizer_dir))
    assert short.shape == (2, 32)
    lower = encode_texts(tiny_model, [t.lower() for t in texts], str(tiny_tokenizer_dir))
    torch.testing.assert_close(short, lower)  # texts are lower-cased
    long = encode_texts(tiny_model, texts, str(tiny_tokenizer_dir), walk_type='long')
    box = encode_texts(
        tiny_model, texts, str(tiny_tokenizer_dir), walk_type='box', normalize=False)
    assert long.shape == box.shape == (2, 32)
    assert not torch.allclose(long, short) and not torch.allclose(F.normalize(box, dim=-1), short)
    probs = match_probs(tiny_model, _images(), texts, str(tiny_tokenizer_dir))
    assert probs.shape == (3, 2) and ((probs > 0) & (probs < 1)).all()


def test_regions_and_dense_map(tiny_model, tmp_path):
    save_fgclip2(tiny_model, tmp_path / 'm')
    model = load_fgclip2(tmp_path / 'm')
    images = _images()
    boxes = [
        np.array([[0, 0, 200, 40], [20, 5, 90, 30]], dtype=np.float32), [[0, 0, 50, 120]],
        np.zeros((0, 4))
    ]
    regions = encode_regions(model, images, boxes, normalize=False)
    assert [tuple(r.shape) for r in regions] == [(2, 32), (1, 32), (0, 32)]
    grid = dense_feature_map(model, images[0], max_num_patches=128, normalize=False)
    h, w = prepare_images(images[0], max_num_patches=128)['spatial_shapes'][0].tolist()
    assert grid.shape == (h, w, 32)
    # A box covering the whole image pools the mean of the dense grid.
    torch.testing.assert_close(regions[0][0], grid.reshape(-1, 32).mean(0), rtol=0, atol=1e-5)
    single = encode_regions(model, images[1], boxes[1])
    torch.testing.assert_close(single[0], F.normalize(regions[1], dim=-1), rtol=0, atol=1e-5)
