"""Region (RoI) features on NaFlex token grids, in plain batched torch.

FG-CLIP 2 pools a region feature with ``roi_align(output_size=1, spatial_scale=1,
sampling_ratio=-1, aligned=True)`` on the dense feature map of each image (spec §1.4). Here
the maps are NaFlex token sequences (B, N, D) whose images have *different* (h, w) grids,
so instead of calling an op per image we build, for every box, the bilinear weight of each
token and pool all boxes of all images with one batched matmul.

Why this is exact: a 1x1 RoIAlign bin is the mean over a regular gy x gx grid of bilinear
samples, and both the bilinear weights and the "sample outside the map" test factorise
over the two axes. So the pooled value is ``sum_rc Wy[r] Wx[c] F[r, c] / (gy * gx)`` with
per-axis weight vectors ``Wy`` (rows) and ``Wx`` (columns), each a sum over that axis'
samples. The sampling positions, boundary rules and ``count = max(gy * gx, 1)`` follow
mmcv/torchvision ``roi_align`` exactly (tested against ``mmcv.ops.roi_align`` to 1e-5).

No host synchronisation: the variable number of samples per box (adaptive sampling) is
handled with a static upper bound on the samples that can touch the map (spacing > 1/2
cell) and a mask, so nothing like ``.item()`` is needed.
"""
from typing import Optional

import torch


def _axis_weights(start: torch.Tensor, size: torch.Tensor, extent: torch.Tensor, length: int,
                  max_extent: int, sampling_ratio: int) -> tuple:
    """Summed bilinear weights of each axis (all axes and boxes at once).

    Args:
        start (Tensor): Box starts (..., A) along A axes, already scaled and shifted.
        size (Tensor): Box sizes (..., A) (= bin sizes for a 1x1 output).
        extent (Tensor): Map sizes broadcastable to (..., A), float.
        length (int): Size of the returned weight tables (>= every extent).
        max_extent (int): An upper bound of every extent (host int).
        sampling_ratio (int): > 0 fixed samples per bin, <= 0 adaptive ``ceil(size)``.

    Returns:
        tuple: Weights (..., A, length) and the sample counts per axis (..., A).
    """
    if sampling_ratio > 0:
        grid = torch.full_like(size, float(sampling_ratio))
        first = torch.zeros_like(size)
        num = sampling_ratio
    else:
        grid = torch.ceil(size).clamp(min=0)
        # Samples are (size / grid) > 1/2 apart, so at most 2 * (extent + 1) + 1 of them
        # lie in [-1, extent]; start a little early (rounding) and take a few extra.
        step = size / grid.clamp(min=1)
        first = (torch.ceil((-1.0 - start) / step - 0.5) - 1).clamp(min=0)
        num = 2 * max_extent + 6
    idx = first[..., None] + torch.arange(num, device=size.device, dtype=size.dtype)
    pos = start[..., None] + (idx + 0.5) * size[..., None] / grid.clamp(min=1)[..., None]
    valid = (idx < grid[..., None]) & (pos >= -1.0) & (pos <= extent[..., None])
    pos = pos.clamp(min=0)
    last = extent[..., None] - 1
    low = torch.minimum(pos.floor(), last)
    pos = torch.where(low >= last, low, pos)
    high = torch.minimum(low + 1, last)
    frac = pos - low
    valid = valid.to(size.dtype)
    weights = size.new_zeros(*size.shape, length)
    weights.scatter_add_(-1, low.long(), (1 - frac) * valid)
    weights.scatter_add_(-1, high.long(), frac * valid)
    return weights, grid


def _max_extents(shapes: torch.Tensor, num_tokens: int) -> tuple:
    """Host upper bounds of (h, w): exact for CPU tensors (free), else N (no device sync)."""
    if shapes.device.type == 'cpu':
        return tuple(int(v) for v in shapes.max(0).values.tolist())
    return num_tokens, num_tokens


def roi_align_1x1(features: torch.Tensor,
                  spatial_shapes: torch.Tensor,
                  boxes: torch.Tensor,
                  spatial_scale: float = 1.0,
                  sampling_ratio: int = -1,
                  aligned: bool = True,
                  max_extent: Optional[int] = None) -> torch.Tensor:
    """RoIAlign with a 1x1 output on NaFlex token grids, all boxes of all images at once.

    Args:
        features (Tensor): Token features (B, N, D); image b's grid occupies rows
            ``[0, h_b * w_b)`` in row-major order (cell (r, c) is row ``r * w_b + c``).
        spatial_shapes (Tensor): Long (B, 2), (h, w) of every image.
        boxes (Tensor): (B, K, 4) boxes ``x1, y1, x2, y2`` in the units of the grid before
            ``spatial_scale`` (patch cells for FG-CLIP 2). Pad images with fewer boxes with
            any value and ignore those outputs.
        spatial_scale (float): Multiplier from box units to grid cells. Defaults to 1.0.
        sampling_ratio (int): Samples per bin and axis; ``<= 0`` (mmcv 0, torchvision -1)
            means adaptive ``ceil(box size in cells)``. Defaults to -1.
        aligned (bool): Shift by -0.5 cell so that cell i spans [i, i + 1). Defaults to
            True.
        max_extent (int, optional): An upper bound of every h and w known to the caller
            (e.g. N when exporting a graph); default: read from ``spatial_shapes`` on the
            CPU, else N.

    Returns:
        Tensor: (B, K, D) region features, in fp32 (or fp64 for fp64 features); the pooling
        runs outside autocast.
    """
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(f'boxes must have shape (B, K, 4), got {tuple(boxes.shape)}')
    if features.ndim != 3 or features.shape[0] != boxes.shape[0]:
        raise ValueError(f'features must have shape (B, N, D) with B={boxes.shape[0]}, got '
                         f'{tuple(features.shape)}')
    num_tokens = features.shape[1]
    dtype = torch.float64 if features.dtype == torch.float64 else torch.float32
    if 0 in (boxes.shape[0], boxes.shape[1], num_tokens):
        return features.new_zeros(boxes.shape[0], boxes.shape[1], features.shape[2], dtype=dtype)
    with torch.autocast(features.device.type, enabled=False):
        feats = features.to(dtype)
        shapes = spatial_shapes.to(device=feats.device)
        boxes = boxes.to(device=feats.device, dtype=dtype)
        offset = 0.5 if aligned else 0.0
        start = boxes[..., :2] * spatial_scale - offset  # (B, K, 2) x, y
        size = boxes[..., 2:] * spatial_scale - offset - start
        if not aligned:
            size = size.clamp(min=1.0)
        # Both axes at once: index 0 is x (extent w), index 1 is y (extent h).
        extent = shapes.flip(-1).to(dtype)[:, None, :]  # (B, 1, 2)
        if max_extent is None:
            max_extent = max(_max_extents(shapes, num_tokens))
        weights, grid = _axis_weights(start, size, extent, num_tokens, max_extent,
                                      sampling_ratio)
        wx, wy = weights.unbind(2)  # (B, K, N) each
        # Token t of image b is cell (t // w_b, t % w_b) when t < h_b * w_b.
        tok = torch.arange(num_tokens, device=feats.device)
        w_long = shapes[:, 1:].clamp(min=1)
        rows, cols = tok // w_long, tok % w_long  # (B, N)
        inside = (tok < shapes.prod(-1, keepdim=True)).to(dtype)
        rows = rows.clamp(max=num_tokens - 1)
        k = boxes.shape[1]
        weights = (torch.gather(wy, 2, rows[:, None].expand(-1, k, -1)) *
                   torch.gather(wx, 2, cols[:, None].expand(-1, k, -1)) * inside[:, None]
                   )  # (B, K, N)
        count = grid.prod(-1).clamp(min=1)[..., None]
        return torch.bmm(weights / count, feats)


def boxes_to_grid(boxes: torch.Tensor, image_sizes: torch.Tensor,
                  spatial_shapes: torch.Tensor) -> torch.Tensor:
    """Map absolute-pixel ``x1, y1, x2, y2`` boxes onto each image's patch grid (spec §8).

    ``x_g = x * w / W`` and ``y_g = y * h / H`` with (H, W) the original image size and
    (h, w) its patch grid (the resized image fills the whole grid).

    Args:
        boxes (Tensor): (B, K, 4) pixel boxes of the *original* images.
        image_sizes (Tensor): (B, 2) original (height, width) in pixels.
        spatial_shapes (Tensor): (B, 2) patch grid (h, w).

    Returns:
        Tensor: (B, K, 4) boxes in patch-grid units (float).
    """
    dtype = boxes.dtype if boxes.is_floating_point() else torch.float32
    sizes = image_sizes.to(boxes.device, dtype)
    grid = spatial_shapes.to(boxes.device, dtype)
    # (x, y) scale factors (w / W, h / H), repeated for both corners.
    scale = (grid / sizes).flip(-1).repeat(1, 2)[:, None, :]
    return boxes.to(dtype) * scale


def normalized_boxes_to_grid(boxes: torch.Tensor, spatial_shapes: torch.Tensor) -> torch.Tensor:
    """Map ``[0, 1]``-normalised xyxy boxes (B, K, 4) to the (h, w) patch grids (B, 2)."""
    grid = spatial_shapes.to(boxes.device, boxes.dtype).flip(-1).repeat(1, 2)[:, None, :]
    return boxes * grid


def pad_boxes(region_infos: list, device: Optional[torch.device] = None) -> tuple:
    """Stack per-image box lists into a padded (B, K_max, 4) tensor.

    Args:
        region_infos (list[Tensor | list]): Per-image (K_i, 4) boxes.
        device (torch.device, optional): Target device.

    Returns:
        tuple: ``(boxes (B, K_max, 4) float, counts list[int])``; padding boxes are zeros.
    """
    tensors = [
        torch.as_tensor(b, dtype=torch.float32, device=device).reshape(-1, 4) for b in region_infos
    ]
    counts = [int(t.shape[0]) for t in tensors]
    boxes = torch.zeros(len(tensors), max(counts, default=0), 4, device=device)
    if boxes.numel():
        boxes = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True)
    return boxes, counts
