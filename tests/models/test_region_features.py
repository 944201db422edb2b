"""Batched RoIAlign 1x1 on NaFlex grids vs mmcv, a naive per-box loop, and the pixel->grid
box mapping of spec §8."""
import math

import pytest
import torch

from fgclip2_mm.models.utils import boxes_to_grid, region_features, roi_align_1x1
from .helpers import MIXED_SHAPES, naflex_batch


def _bilinear(fmap, y, x):
    """mmcv/torchvision bilinear_interpolate for one point of a (D, H, W) map."""
    height, width = fmap.shape[1:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return fmap.new_zeros(fmap.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fmap[:, y_low, x_low] + hy * lx * fmap[:, y_low, x_high] +
            ly * hx * fmap[:, y_high, x_low] + ly * lx * fmap[:, y_high, x_high])


def naive_roi_align(fmap, box, aligned=True, sampling_ratio=-1):
    """Straight transcription of the RoIAlign loop for one box and a 1x1 output."""
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (float(v) for v in box)
    sx, sy = x1 - offset, y1 - offset
    rw, rh = x2 - offset - sx, y2 - offset - sy
    if not aligned:
        rw, rh = max(rw, 1.0), max(rh, 1.0)
    gy = sampling_ratio if sampling_ratio > 0 else math.ceil(rh)
    gx = sampling_ratio if sampling_ratio > 0 else math.ceil(rw)
    total = fmap.new_zeros(fmap.shape[0])
    for iy in range(max(gy, 0)):
        y = sy + (iy + 0.5) * rh / gy
        for ix in range(max(gx, 0)):
            total += _bilinear(fmap, y, sx + (ix + 0.5) * rw / gx)
    return total / max(gy * gx, 1)


def _random_boxes(shapes, k, seed=0):
    gen = torch.Generator().manual_seed(seed)
    hw = torch.tensor(shapes, dtype=torch.float64)[:, None, :].flip(-1)  # (B, 1, 2) = (w, h)
    xy = torch.rand(len(shapes), k, 2, generator=gen, dtype=torch.float64) * (hw + 2) - 1
    wh = torch.rand(len(shapes), k, 2, generator=gen, dtype=torch.float64) * hw * 1.3
    boxes = torch.cat([xy, xy + wh], -1)
    boxes[0, 0] = torch.tensor([1.0, 1.0, 1.0, 1.0])  # empty box
    boxes[0, 1] = torch.tensor([-40.0, -30.0, 50.0, 60.0])  # far larger than the map
    boxes[0, 2] = torch.tensor([0.1, 0.2, 0.4, 0.3])  # sub-cell box
    boxes[1, 0] = torch.tensor([0.0, 0.0, 9.0, 1.0])  # the whole 1 x 9 strip
    return boxes


def _maps(features, shapes):
    return [features[b, :h * w].T.reshape(-1, h, w) for b, (h, w) in enumerate(shapes)]


def test_matches_mmcv_roi_align():
    ops = pytest.importorskip('mmcv.ops')
    shapes = MIXED_SHAPES + [[5, 7]]
    features = torch.randn(len(shapes), 40, 6, dtype=torch.float64)
    boxes = _random_boxes(shapes, 20)
    ours = roi_align_1x1(features, torch.tensor(shapes), boxes)
    assert ours.dtype == torch.float64 and ours.shape == (len(shapes), 20, 6)
    for b, fmap in enumerate(_maps(features, shapes)):
        rois = torch.cat([torch.zeros(20, 1, dtype=torch.float64), boxes[b]], 1)
        fmap = fmap[None].float().contiguous()  # mmcv CPU kernels assume contiguous input
        ref = ops.roi_align(fmap, rois.float(), (1, 1), 1.0, 0, 'avg', True)
        torch.testing.assert_close(ours[b].float(), ref[:, :, 0, 0], rtol=0, atol=1e-5)


@pytest.mark.parametrize('aligned,sampling_ratio,loose_bound',
                         [(True, -1, False), (True, -1, True), (False, -1, False),
                          (True, 2, False)])
def test_matches_naive_loop(aligned, sampling_ratio, loose_bound, monkeypatch):
    if loose_bound:  # the device path: sample bound from N instead of the real (h, w)
        monkeypatch.setattr(region_features, '_max_extents', lambda shapes, n: (n, n))
    shapes = MIXED_SHAPES
    features = torch.randn(len(shapes), 24, 5, dtype=torch.float64)
    boxes = _random_boxes(shapes, 12, seed=1)
    boxes[2, 0] = torch.tensor([3.0, 3.0, 1.0, 2.0])  # inverted: no samples -> 0
    ours = roi_align_1x1(
        features, torch.tensor(shapes), boxes, aligned=aligned, sampling_ratio=sampling_ratio)
    for b, fmap in enumerate(_maps(features, shapes)):
        ref = torch.stack(
            [naive_roi_align(fmap, box, aligned, sampling_ratio) for box in boxes[b]])
        torch.testing.assert_close(ours[b], ref, rtol=0, atol=1e-10)


def test_fp32_autocast_gradients_and_scale():
    shapes = torch.tensor([[3, 4], [2, 6]])
    features = torch.randn(2, 12, 4, requires_grad=True)
    boxes = torch.tensor([[[0.0, 0.0, 4.0, 3.0], [1.0, 0.5, 2.5, 2.0]],
                          [[0.0, 0.0, 12.0, 4.0], [2.0, 0.0, 6.0, 2.0]]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = roi_align_1x1(features.bfloat16(), shapes, boxes)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    full = roi_align_1x1(features, shapes, boxes)
    torch.testing.assert_close(full[0, 0], features[0].mean(0))  # whole map = its mean
    scaled = roi_align_1x1(features, shapes, boxes[:, :, :] * 2, spatial_scale=0.5)
    torch.testing.assert_close(scaled, full)
    full.sum().backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    empty = roi_align_1x1(features, shapes, torch.zeros(2, 0, 4))
    assert empty.shape == (2, 0, 4)


def test_pixel_boxes_map_to_grid_per_spec():
    boxes = torch.tensor([[[10.0, 20.0, 110.0, 220.0]], [[0.0, 0.0, 640.0, 480.0]]])
    image_sizes = torch.tensor([[400, 300], [480, 640]])  # (height, width)
    shapes = torch.tensor([[20, 15], [12, 16]])  # (h, w)
    grid = boxes_to_grid(boxes, image_sizes, shapes)
    expected = torch.tensor([[[10 * 15 / 300, 20 * 20 / 400, 110 * 15 / 300, 220 * 20 / 400]],
                             [[0.0, 0.0, 16.0, 12.0]]])
    torch.testing.assert_close(grid, expected)


def test_get_image_region_features_matches_manual_pipeline(tiny_model):
    batch = naflex_batch([[3, 5], [1, 9], [4, 4]], num_tokens=24, seed=2)
    image_sizes = torch.tensor([[48, 80], [10, 90], [64, 64]])
    regions = [
        torch.tensor([[0.0, 0.0, 80.0, 48.0], [8.0, 4.0, 40.0, 30.0]]),
        torch.zeros(0, 4), [[0.0, 0.0, 16.0, 16.0], [30.0, 30.0, 64.0, 50.0], [1, 2, 3, 4]]
    ]
    with torch.no_grad():
        out = tiny_model.get_image_region_features(
            **batch, image_sizes=image_sizes, region_infos=regions)
        dense = tiny_model.get_image_dense_feature(**batch)
    assert [o.shape for o in out] == [(2, 32), (0, 32), (3, 32)]
    maps = _maps(dense.double(), [[3, 5], [1, 9], [4, 4]])
    for b, (feat, boxes) in enumerate(zip(out, regions)):
        boxes = torch.as_tensor(boxes, dtype=torch.float64).reshape(-1, 4)
        h, w = batch['spatial_shapes'][b].tolist()
        height, width = image_sizes[b].tolist()
        grid = boxes * torch.tensor([w / width, h / height] * 2, dtype=torch.float64)
        ref = [naive_roi_align(maps[b], box) for box in grid]
        if ref:
            torch.testing.assert_close(feat.double(), torch.stack(ref), rtol=0, atol=1e-5)
    whole = out[0][0]
    torch.testing.assert_close(whole, dense[0, :15].mean(0), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='region_infos has 2 entries for 3 images'):
        tiny_model.get_image_region_features(
            **batch, image_sizes=image_sizes, region_infos=regions[:2])
