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


def _mixed_images(count: int = 11):
    """Images of several NaFlex buckets (128 ... 576) and aspect ratios, in mixed order."""
    rng = np.random.default_rng(1)
    sizes = [(40, 200), (300, 260), (64, 64), (500, 90), (33, 47), (250, 250), (120, 50),
             (16, 700), (210, 180), (48, 48), (380, 300)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes[:count]]


def test_plan_batches_groups_by_bucket_with_bounded_padding():
    from fgclip2_mm.apis.batching import patch_count, plan_batches
    from fgclip2_mm.utils.naflex import select_patch_budget
    sizes = [im.shape[:2] for im in _mixed_images()]
    plan = plan_batches(sizes, batch_size=3)
    assert sorted(i for _, idx in plan for i in idx) == list(range(len(sizes)))
    for budget, indices in plan:
        assert 1 <= len(indices) <= 3
        assert {select_patch_budget(*sizes[i]) for i in indices} == {budget}
        counts = [patch_count(*sizes[i], budget) for i in indices]
        assert counts == sorted(counts, reverse=True)
        assert max(counts) <= budget
    fixed = plan_batches(sizes, batch_size=16, max_num_patches=64)
    assert len(fixed) == 1 and fixed[0][0] == 64
    with pytest.raises(ValueError, match='batch_size'):
        plan_batches(sizes, batch_size=0)


def test_batched_equals_one_by_one(tiny_model):
    images = _mixed_images()
    batched = encode_images(tiny_model, images, batch_size=4)
    single = torch.cat([encode_images(tiny_model, im, batch_size=1) for im in images])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-5)
    boxes = [np.array([[0, 0, im.shape[1], im.shape[0]], [2, 3, 10, 12]], np.float32)
             for im in images]
    regions = encode_regions(tiny_model, images, boxes, batch_size=5)
    for im, box, got in zip(images, boxes, regions):
        torch.testing.assert_close(got, encode_regions(tiny_model, im, box)[0], rtol=0,
                                   atol=1e-5)


def test_progress_bar_for_long_lists(tiny_model, capsys):
    images = [np.full((20, 20, 3), v, np.uint8) for v in range(70)]
    encode_images(tiny_model, images, batch_size=32)
    assert '70/70' in capsys.readouterr().err
    encode_images(tiny_model, images[:5])
    encode_images(tiny_model, images, progress=False)
    assert capsys.readouterr().err == ''


def test_text_embeddings_are_cached_on_disk(tiny_model, tiny_tokenizer_dir, tmp_path,
                                            monkeypatch):
    texts = ['a red cat', '一只 猫', 'a dog on the grass']
    plain = encode_texts(tiny_model, texts, str(tiny_tokenizer_dir), 'box')
    cached = encode_texts(tiny_model, texts, str(tiny_tokenizer_dir), 'box',
                          cache_dir=str(tmp_path))
    torch.testing.assert_close(cached, plain, rtol=0, atol=1e-6)
    assert len(list(tmp_path.glob('*.safetensors'))) == 1
    calls = []
    real = tiny_model.get_text_features
    monkeypatch.setattr(tiny_model, 'get_text_features',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    again = encode_texts(tiny_model, texts, str(tiny_tokenizer_dir), 'box',
                         cache_dir=str(tmp_path))
    assert not calls and torch.equal(again, cached)
    encode_texts(tiny_model, texts, str(tiny_tokenizer_dir), 'short', cache_dir=str(tmp_path))
    assert calls and len(list(tmp_path.glob('*.safetensors'))) == 2  # the walk is in the key


def test_images_from_files_and_folders(tiny_model, tmp_path):
    images = _mixed_images(4)
    for i, im in enumerate(images):
        Image.fromarray(im).save(tmp_path / f'{i}.png')
    from_folder = encode_images(tiny_model, tmp_path)
    torch.testing.assert_close(from_folder, encode_images(tiny_model, images), rtol=0, atol=0)
    paths = [tmp_path / f'{i}.png' for i in range(4)]
    regions = encode_regions(tiny_model, [str(p) for p in paths], [[[0, 0, 8, 8]]] * 4)
    assert [tuple(r.shape) for r in regions] == [(1, 32)] * 4
