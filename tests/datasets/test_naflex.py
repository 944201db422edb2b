"""NaFlex preprocessing against transformers' SigLIP 2 image processor (the oracle)."""
import numpy as np
import pytest
import torch
from PIL import Image

from fgclip2_mm.datasets.transforms import (FGCLIP2NaFlexPatchify, collate_naflex,
                                            get_image_size_for_max_num_patches, naflex_patchify,
                                            patches_to_image, pixel_boxes_to_grid,
                                            select_patch_budget, select_patch_budget_batch)

pytest.importorskip('transformers')

# (H, W) in pixels: tiny, strips giving 1 x N and N x 1 grids, squares, odd and large sizes.
SIZES = [(20, 300), (300, 20), (16, 4000), (4000, 16), (1, 1), (1, 700), (700, 1), (37, 41),
         (224, 224), (256, 256), (480, 640), (1000, 17), (513, 257), (1200, 1900)]
BUDGETS = (128, 256, 576, 1024)


def _pil_module():
    """transformers' PIL-backend SigLIP 2 module (``..._pil_siglip2`` in 5.x, plain in 4.x)."""
    try:
        from transformers.models.siglip2 import image_processing_pil_siglip2 as module
    except ImportError:
        from transformers.models.siglip2 import image_processing_siglip2 as module
    return module


def _pil_processor_cls():
    """The PIL-backend SigLIP 2 processor (``...Pil`` in transformers 5.x, plain in 4.x)."""
    module = _pil_module()
    return getattr(module, 'Siglip2ImageProcessorPil', None) or module.Siglip2ImageProcessor


def _random_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _ours(images, budget):
    return collate_naflex([naflex_patchify(image, budget) for image in images], budget)


def _oracle(cls, images, budget):
    processor = cls(
        patch_size=16,
        max_num_patches=budget,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        do_resize=True,
        do_rescale=True,
        do_normalize=True)
    return processor(images, return_tensors='pt', input_data_format='channels_last')


@pytest.mark.parametrize('budget', BUDGETS)
def test_matches_siglip2_pil_processor(budget):
    images = [_random_image(h, w, seed=i) for i, (h, w) in enumerate(SIZES)]
    ours, ref = _ours(images, budget), _oracle(_pil_processor_cls(), images, budget)
    assert torch.equal(ours['spatial_shapes'], ref['spatial_shapes'])
    assert torch.equal(ours['pixel_attention_mask'], ref['pixel_attention_mask'])
    assert ours['pixel_attention_mask'].dtype == ref['pixel_attention_mask'].dtype
    assert ours['pixel_values'].shape == ref['pixel_values'].shape == (len(SIZES), budget, 768)
    # Same PIL resize and the same float arithmetic: measured max |diff| = 0.0.
    assert (ours['pixel_values'] - ref['pixel_values']).abs().max().item() <= 1e-6
    grids = ours['spatial_shapes'].tolist()
    assert any(h == 1 < w for h, w in grids) and any(w == 1 < h for h, w in grids)  # strips


def test_torchvision_backend_is_close():
    pytest.importorskip('torchvision')
    from transformers import Siglip2ImageProcessor
    if 'Pil' in Siglip2ImageProcessor.__name__ or not hasattr(Siglip2ImageProcessor, 'resize'):
        pytest.skip('the default processor is not the torchvision backend')
    images = [_random_image(h, w, seed=i) for i, (h, w) in enumerate(SIZES)]
    ours, ref = _ours(images, 256), _oracle(Siglip2ImageProcessor, images, 256)
    assert torch.equal(ours['spatial_shapes'], ref['spatial_shapes'])
    assert torch.equal(ours['pixel_attention_mask'].long(), ref['pixel_attention_mask'].long())
    # torchvision's antialiased uint8 bilinear differs from PIL by a few levels on few pixels.
    assert (ours['pixel_values'] - ref['pixel_values']).abs().max().item() <= 3 * 2 / 255 + 1e-6


def test_image_size_matches_transformers():
    hf_fn = _pil_module().get_image_size_for_max_num_patches
    for height in list(range(1, 200, 7)) + [255, 256, 257, 1023, 4000]:
        for width in list(range(1, 600, 23)) + [16, 512, 3001]:
            for budget in (1, 64, 128, 256, 576, 784, 1024, 4096):
                assert get_image_size_for_max_num_patches(height, width, 16, budget) == hf_fn(
                    height, width, 16, budget), (height, width, budget)
    assert get_image_size_for_max_num_patches(480, 640, 14, 729) == hf_fn(480, 640, 14, 729)
    with pytest.raises(ValueError, match='max_num_patches'):
        get_image_size_for_max_num_patches(10, 10, 16, 0)
    with pytest.raises(ValueError, match='height'):
        get_image_size_for_max_num_patches(0, 10, 16, 256)


@pytest.mark.parametrize('patches,expected', [(1, 128), (128, 128), (129, 256), (256, 256),
                                              (257, 576), (576, 576), (577, 784), (784, 784),
                                              (785, 1024), (5000, 1024)])
def test_bucket_table_boundaries(patches, expected):
    # floor(W / 16) * floor(H / 16) == patches with H = 16..31 px (1 row) and W = 16 * patches
    assert select_patch_budget(16, 16 * patches) == expected
    assert select_patch_budget(31, 16 * patches + 15) == expected  # floors, not rounds
    assert select_patch_budget(16 * patches, 16) == expected


def test_bucket_table_small_and_batch():
    assert select_patch_budget(15, 10000) == 128  # zero full rows
    assert select_patch_budget(29 * 16, 29 * 16) == 1024  # 841 > 784
    assert select_patch_budget(28 * 16, 28 * 16) == 784
    assert select_patch_budget(10, 10, patch_size=1) == 128
    assert select_patch_budget_batch([(16, 16), (28 * 16, 28 * 16), (100, 100)]) == 784
    with pytest.raises(ValueError):
        select_patch_budget_batch([])


def _normalise(image):
    return ((image.astype(np.float64) / 255).astype(np.float32) - 0.5) / 0.5


def test_patch_order_reconstructs_image():
    image = _random_image(64, 48)  # 4 x 3 patches, budget 12: no resampling
    patches, (h, w) = naflex_patchify(image, 12)
    assert (h, w) == (4, 3) and patches.shape == (12, 768) and patches.dtype == np.float32
    np.testing.assert_array_equal(patches_to_image(patches, (h, w)), _normalise(image))
    # row r * w + c is patch (r, c); inside it (pixel row, pixel column, channel), channel fastest
    for r, c, py, px, ch in [(0, 0, 0, 0, 1), (1, 2, 3, 15, 2), (3, 1, 15, 0, 0)]:
        expected = _normalise(image)[r * 16 + py, c * 16 + px, ch]
        assert patches[r * w + c, (py * 16 + px) * 3 + ch] == expected
    # reconstruction after a real resize equals the normalised resized image
    big = _random_image(300, 500, seed=3)
    patches, shape = naflex_patchify(big, 256)
    resized = np.asarray(
        Image.fromarray(big).resize((shape[1] * 16, shape[0] * 16), resample=Image.BILINEAR))
    np.testing.assert_array_equal(patches_to_image(patches, shape), _normalise(resized))


def test_patchify_input_validation():
    with pytest.raises(ValueError, match='uint8'):
        naflex_patchify(np.zeros((10, 10, 3), np.float32), 128)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        naflex_patchify(np.zeros((10, 10), np.uint8), 128)
    with pytest.raises(TypeError):
        naflex_patchify([[0]], 128)


def test_collate_naflex():
    items = [
        naflex_patchify(_random_image(h, w, i), 64)
        for i, (h, w) in enumerate([(32, 32), (16, 160), (100, 50)])
    ]
    batch = collate_naflex(items)
    longest = max(p.shape[0] for p, _ in items)
    assert batch['pixel_values'].shape == (3, longest, 768)
    assert batch['pixel_values'].dtype == torch.float32
    assert batch['spatial_shapes'].dtype == torch.long
    for i, (patches, (h, w)) in enumerate(items):
        assert batch['spatial_shapes'][i].tolist() == [h, w]
        assert batch['pixel_attention_mask'][i].sum().item() == h * w
        assert torch.equal(batch['pixel_values'][i, :h * w], torch.from_numpy(patches))
        assert not batch['pixel_values'][i, h * w:].any()
    assert collate_naflex(items, 100)['pixel_values'].shape == (3, 100, 768)
    with pytest.raises(ValueError, match='max_num_patches'):
        collate_naflex(items, longest - 1)
    with pytest.raises(ValueError, match='spatial shape'):
        collate_naflex([(items[0][0], (1, 1))])
    with pytest.raises(ValueError):
        collate_naflex([])


def test_patchify_transform_keys_and_boxes():
    image = _random_image(200, 300)
    boxes = np.array([[0, 0, 300, 200], [30, 20, 150, 100]], np.float32)
    results = FGCLIP2NaFlexPatchify()(dict(img=image, gt_bboxes=boxes))
    h, w = results['spatial_shape']
    assert results['num_patches_budget'] == select_patch_budget(200, 300) == 256
    assert results['patches'].shape == (h * w, 768) and h * w <= 256
    assert results['img_shape'] == (h * 16, w * 16) and results['ori_shape'] == (200, 300)
    assert results['scale_factor'] == pytest.approx((w * 16 / 300, h * 16 / 200))
    np.testing.assert_allclose(results['gt_bboxes_grid'][0], [0, 0, w, h], rtol=1e-6)
    np.testing.assert_allclose(results['gt_bboxes_grid'][1],
                               [30 * w / 300, 20 * h / 200, 150 * w / 300, 100 * h / 200])
    np.testing.assert_array_equal(results['gt_bboxes'], boxes)  # left in pixels
    fixed = FGCLIP2NaFlexPatchify(max_num_patches=1024, dynamic_budget=False)
    assert fixed(dict(img=image))['num_patches_budget'] == 1024
    capped = FGCLIP2NaFlexPatchify(max_num_patches=128)
    assert capped(dict(img=image))['num_patches_budget'] == 128
    bgr = FGCLIP2NaFlexPatchify(input_order='bgr')(dict(img=image[..., ::-1].copy()))
    np.testing.assert_array_equal(bgr['patches'], results['patches'])


def test_patchify_small_image_square_option():
    image, box = _random_image(100, 300), np.array([[0, 0, 300, 100]], np.float32)
    off = FGCLIP2NaFlexPatchify()(dict(img=image, gt_bboxes=box))
    assert off['num_patches_budget'] == 128  # 18 * 6 = 108 patches
    on = FGCLIP2NaFlexPatchify(min_side=128)(dict(img=image, gt_bboxes=box))
    assert on['num_patches_budget'] == 1024 and on['spatial_shape'] == (32, 32)  # 512 x 512
    assert on['ori_shape'] == (100, 300)
    assert on['scale_factor'] == pytest.approx((512 / 300, 512 / 100))
    np.testing.assert_allclose(on['gt_bboxes_grid'], [[0, 0, 32, 32]])
    big = FGCLIP2NaFlexPatchify(min_side=128)(dict(img=_random_image(128, 300)))
    assert big['spatial_shape'] != (32, 32)  # sides >= 128 are untouched


def test_patchify_transform_validation():
    with pytest.raises(ValueError, match='dynamic_budget'):
        FGCLIP2NaFlexPatchify(dynamic_budget=False)
    with pytest.raises(ValueError, match='input_order'):
        FGCLIP2NaFlexPatchify(input_order='rgba')
    with pytest.raises(ValueError, match='patch_size'):
        FGCLIP2NaFlexPatchify(patch_size=0)
    with pytest.raises(KeyError, match='img'):
        FGCLIP2NaFlexPatchify()(dict(image=_random_image(8, 8)))
    assert 'FGCLIP2NaFlexPatchify' in repr(FGCLIP2NaFlexPatchify())


def test_pixel_boxes_to_grid_accepts_tensors_and_empty():
    grid = pixel_boxes_to_grid(torch.tensor([[0., 0., 64., 32.]]), (32, 64), (2, 4))
    np.testing.assert_allclose(grid, [[0, 0, 4, 2]])
    assert pixel_boxes_to_grid(np.zeros((0, 4)), (32, 64), (2, 4)).shape == (0, 4)
    with pytest.raises(ValueError, match=r'\(K, 4\)'):
        pixel_boxes_to_grid(np.zeros((2, 5)), (32, 64), (2, 4))
