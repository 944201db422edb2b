"""SigLIP 2 NaFlex image preprocessing (FG-CLIP 2 spec section 8), without mmcv.

The functions here reproduce transformers' PIL-backend ``Siglip2ImageProcessor`` (called
``Siglip2ImageProcessorPil`` in transformers 5.x, the plain ``Siglip2ImageProcessor`` in 4.x)
bit for bit: the image is resized with PIL ``BILINEAR`` on uint8 data (PIL's bilinear filter
is antialiased when it shrinks), then rescaled by 1/255 in float64, cast to float32 and
normalised with mean = std = 0.5 in float32 (measured max difference: 0.0). The torchvision
backend of transformers 5.x (``tvF.resize(..., antialias=True)`` on uint8 tensors, also the
4.x "fast" processor) is a different implementation of the same filter: torch's antialiased
uint8 bilinear interpolation differs from PIL by at most 2 uint8 levels (0.016 after
normalisation) on about 0.4 % of the pixels of random images. We follow PIL, not it.

Patches are in raster order (row by row, left to right) and each patch vector is ordered
(pixel row, pixel column, channel), channel fastest, exactly as transformers'
``convert_image_to_patches``.
"""
import math
from functools import lru_cache
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

#: FG-CLIP 2 dynamic patch budgets (the README's ``determine_max_value``).
PATCH_BUDGET_BUCKETS = (128, 256, 576, 784, 1024)
# (more than this many patches in the original image, budget), largest first.
_BUDGET_TABLE = ((784, 1024), (576, 784), (256, 576), (128, 256))
#: SigLIP 2 normalisation constants (pixels end up in [-1, 1]).
IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.5, 0.5, 0.5)

ArrayOrTensor = Union[np.ndarray, torch.Tensor]


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f'{name} must be a positive integer, got {value!r}')
    return int(value)


def get_image_size_for_max_num_patches(height: int,
                                       width: int,
                                       patch_size: int,
                                       max_num_patches: int,
                                       eps: float = 1e-5) -> Tuple[int, int]:
    """Largest aspect-preserving size, in multiples of ``patch_size``, under a patch budget.

    Binary search over a scale ``s`` in ``[eps / 10, 100]`` (``[1e-6, 100]`` by default) until
    the interval is narrower than ``eps``; for a candidate ``s`` each side becomes
    ``ceil(side * s / patch_size) * patch_size`` (at least ``patch_size``), and the largest
    ``s`` whose grid has at most ``max_num_patches`` cells is kept. Small images are therefore
    up-scaled. Identical to transformers' ``siglip2`` function of the same name.

    Args:
        height (int): Original image height in pixels.
        width (int): Original image width in pixels.
        patch_size (int): Patch side in pixels.
        max_num_patches (int): Patch budget.
        eps (float): Width of the search interval at which the search stops.

    Returns:
        tuple[int, int]: ``(target_height, target_width)``, both multiples of ``patch_size``.
        A budget smaller than the 1-patch minimum per side cannot be met: for a 1 x N strip
        the result is one patch high even when that exceeds the budget, as in transformers.
    """
    height = _check_positive_int('height', height)
    width = _check_positive_int('width', width)
    patch_size = _check_positive_int('patch_size', patch_size)
    max_num_patches = _check_positive_int('max_num_patches', max_num_patches)

    def scaled(scale: float, size: int) -> int:
        return max(patch_size, math.ceil(size * scale / patch_size) * patch_size)

    scale_min, scale_max = eps / 10, 100.0
    while scale_max - scale_min >= eps:
        scale = (scale_min + scale_max) / 2
        num_patches = (scaled(scale, height) / patch_size) * (scaled(scale, width) / patch_size)
        if num_patches <= max_num_patches:
            scale_min = scale
        else:
            scale_max = scale
    return scaled(scale_min, height), scaled(scale_min, width)


def select_patch_budget(height: int, width: int, patch_size: int = 16) -> int:
    """FG-CLIP 2 dynamic patch budget of one image (bucket table of spec section 8).

    ``n = floor(width / patch_size) * floor(height / patch_size)`` of the original image, then
    ``n > 784 -> 1024``, ``> 576 -> 784``, ``> 256 -> 576``, ``> 128 -> 256``, else ``128``.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        patch_size (int): Patch side in pixels. Defaults to 16.

    Returns:
        int: One of :data:`PATCH_BUDGET_BUCKETS`.
    """
    patch_size = _check_positive_int('patch_size', patch_size)
    num = (_check_positive_int('width', width) // patch_size) * (
        _check_positive_int('height', height) // patch_size)
    for lower, bucket in _BUDGET_TABLE:
        if num > lower:
            return bucket
    return PATCH_BUDGET_BUCKETS[0]


def select_patch_budget_batch(sizes: Iterable[Tuple[int, int]], patch_size: int = 16) -> int:
    """Batch budget: the largest :func:`select_patch_budget` over ``(height, width)`` pairs.

    This is what the reference training collator uses (every image of the batch is then
    resized under that one budget).

    Args:
        sizes (Iterable[tuple[int, int]]): ``(height, width)`` of every image of the batch.
        patch_size (int): Patch side in pixels. Defaults to 16.

    Returns:
        int: One of :data:`PATCH_BUDGET_BUCKETS`.
    """
    budgets = [select_patch_budget(h, w, patch_size) for h, w in sizes]
    if not budgets:
        raise ValueError('select_patch_budget_batch needs at least one image size')
    return max(budgets)


def check_rgb_uint8(image: np.ndarray, name: str = 'image') -> np.ndarray:
    """Validate an (H, W, 3) uint8 array and return it C-contiguous."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f'{name} must be a numpy array, got {type(image).__name__}')
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'{name} must be an (H, W, 3) uint8 RGB array, got shape '
                         f'{image.shape} and dtype {image.dtype}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{name} is empty: shape {image.shape}')
    return np.ascontiguousarray(image)


def resize_uint8(image: np.ndarray,
                 size: Tuple[int, int],
                 resample: str = 'bilinear') -> np.ndarray:
    """Resize an (H, W, 3) uint8 image with PIL (``'bilinear'`` or ``'bicubic'``).

    Args:
        image (np.ndarray): Image of shape (H, W, 3), uint8.
        size (tuple[int, int]): Target ``(height, width)``.
        resample (str): PIL filter name. Defaults to ``'bilinear'``.

    Returns:
        np.ndarray: Resized image of shape (height, width, 3), uint8.
    """
    from PIL import Image  # lazy: the data preprocessor imports this module without PIL
    resampling = getattr(Image, 'Resampling', Image)
    filters = {'bilinear': resampling.BILINEAR, 'bicubic': resampling.BICUBIC}
    if resample not in filters:
        raise ValueError(f'resample must be one of {tuple(filters)}, got {resample!r}')
    height, width = size
    pil = Image.fromarray(check_rgb_uint8(image))
    return np.asarray(pil.resize((int(width), int(height)), resample=filters[resample]))


@lru_cache(maxsize=8)
def _normalise_lut(mean: Tuple[float, ...], std: Tuple[float, ...]) -> np.ndarray:
    # Same arithmetic as transformers: uint8 * (1/255) in float64, cast to float32, then
    # (x - mean) / std in float32. One table row per uint8 value, one column per channel.
    values = (np.arange(256, dtype=np.float64) * (1 / 255)).astype(np.float32)[:, None]
    lut = (values - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    lut.setflags(write=False)
    return lut


def image_to_patches(image: np.ndarray, patch_size: int) -> np.ndarray:
    """Cut an (H, W, C) array whose sides are multiples of ``patch_size`` into patches.

    Args:
        image (np.ndarray): Array of shape (h * p, w * p, C).
        patch_size (int): Patch side ``p``.

    Returns:
        np.ndarray: Patches of shape (h * w, p * p * C), raster order, (py, px, c) inside.
    """
    height, width, channels = image.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image sides {(height, width)} are not multiples of {patch_size}')
    h, w = height // patch_size, width // patch_size
    patches = image.reshape(h, patch_size, w, patch_size, channels).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(patches.reshape(h * w, patch_size * patch_size * channels))


def patches_to_image(patches: ArrayOrTensor,
                     spatial_shape: Tuple[int, int],
                     patch_size: int = 16,
                     channels: int = 3) -> np.ndarray:
    """Inverse of :func:`image_to_patches` (for tests and visualisation).

    Args:
        patches (np.ndarray | Tensor): Shape (N, p * p * C) with N >= h * w; rows after the
            first h * w (padding) are ignored.
        spatial_shape (tuple[int, int]): Grid ``(h, w)``.
        patch_size (int): Patch side ``p``. Defaults to 16.
        channels (int): Channels ``C``. Defaults to 3.

    Returns:
        np.ndarray: Image of shape (h * p, w * p, C).
    """
    h, w = (int(v) for v in spatial_shape)
    arr = np.asarray(patches)[:h * w].reshape(h, w, patch_size, patch_size, channels)
    return arr.transpose(0, 2, 1, 3, 4).reshape(h * patch_size, w * patch_size, channels)


def naflex_patchify(image: np.ndarray,
                    max_num_patches: int,
                    patch_size: int = 16,
                    mean: Sequence[float] = IMAGE_MEAN,
                    std: Sequence[float] = IMAGE_STD) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Resize under a patch budget, normalise and patchify one image (no padding).

    Args:
        image (np.ndarray): RGB image of shape (H, W, 3), uint8.
        max_num_patches (int): Patch budget.
        patch_size (int): Patch side ``p``. Defaults to 16.
        mean (Sequence[float]): Per-channel mean after rescaling to [0, 1].
        std (Sequence[float]): Per-channel std after rescaling to [0, 1].

    Returns:
        tuple: ``patches`` float32 array of shape (h * w, 3 * p * p) in (py, px, c) order,
        and the grid ``(h, w)``. The resized image is ``(h * p, w * p)`` pixels.
    """
    image = check_rgb_uint8(image)
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f'mean and std need 3 values, got {mean!r} and {std!r}')
    target_h, target_w = get_image_size_for_max_num_patches(image.shape[0], image.shape[1],
                                                            patch_size, max_num_patches)
    resized = resize_uint8(image, (target_h, target_w), 'bilinear')
    lut = _normalise_lut(tuple(float(m) for m in mean), tuple(float(s) for s in std))
    normalised = lut[resized, np.arange(3)]
    patches = image_to_patches(normalised, patch_size)
    return patches, (target_h // patch_size, target_w // patch_size)


def collate_naflex(items: Sequence[Tuple[ArrayOrTensor, Tuple[int, int]]],
                   max_num_patches: Optional[int] = None) -> dict:
    """Pad per-image patch arrays into the batch tensors of the NaFlex vision tower.

    Args:
        items (Sequence[tuple]): One ``(patches, (h, w))`` per image, ``patches`` of shape
            (h * w, D) (numpy or torch).
        max_num_patches (int, optional): Sequence length N of the batch. Defaults to the
            largest ``h * w`` of the batch. An image with more patches raises ``ValueError``.

    Returns:
        dict: ``pixel_values`` float32 (B, N, D) with zero padding rows,
        ``pixel_attention_mask`` int32 (B, N), 1 for the first ``h * w`` rows,
        ``spatial_shapes`` int64 (B, 2) holding ``(h, w)``.
    """
    if len(items) == 0:
        raise ValueError('collate_naflex needs at least one image')
    tensors: List[torch.Tensor] = []
    shapes: List[Tuple[int, int]] = []
    for index, (patches, spatial_shape) in enumerate(items):
        patches = torch.as_tensor(patches)
        h, w = (int(v) for v in spatial_shape)
        if patches.ndim != 2 or patches.shape[0] != h * w:
            raise ValueError(f'item {index}: patches of shape {tuple(patches.shape)} do not '
                             f'match spatial shape {(h, w)} (expected ({h * w}, D))')
        if patches.shape[1] != torch.as_tensor(items[0][0]).shape[1]:
            raise ValueError(f'item {index}: patch dimension {patches.shape[1]} differs from '
                             f'item 0')
        tensors.append(patches)
        shapes.append((h, w))
    longest = max(h * w for h, w in shapes)
    if max_num_patches is None:
        length = longest
    else:
        length = _check_positive_int('max_num_patches', max_num_patches)
        if longest > length:
            index = [h * w for h, w in shapes].index(longest)
            raise ValueError(f'item {index} has {longest} patches {shapes[index]}, more than '
                             f'max_num_patches={length}')
    pixel_values = torch.zeros(len(tensors), length, tensors[0].shape[1], dtype=torch.float32)
    mask = torch.zeros(len(tensors), length, dtype=torch.int32)
    for index, patches in enumerate(tensors):
        pixel_values[index, :patches.shape[0]] = patches
        mask[index, :patches.shape[0]] = 1
    return dict(
        pixel_values=pixel_values,
        pixel_attention_mask=mask,
        spatial_shapes=torch.tensor(shapes, dtype=torch.long))


def pixel_boxes_to_grid(bboxes: ArrayOrTensor, image_shape: Tuple[int, int],
                        spatial_shape: Tuple[int, int]) -> np.ndarray:
    """Map pixel ``xyxy`` boxes to patch-grid units (spec section 8).

    ``x_g = x * w / W`` and ``y_g = y * h / H``: the resized image fills the whole h x w grid,
    so the slight anisotropy from rounding each side up to a multiple of p is absorbed.
    Grid cell ``(r, c)`` spans ``[c, c + 1) x [r, r + 1)`` (RoIAlign with ``aligned=True``).

    Args:
        bboxes (np.ndarray | Tensor): Boxes of shape (K, 4), ``x1, y1, x2, y2`` in pixels of
            the image of shape ``image_shape``. Objects with a ``.tensor`` attribute (mmdet
            ``HorizontalBoxes``) are accepted.
        image_shape (tuple[int, int]): ``(H, W)`` of that image.
        spatial_shape (tuple[int, int]): Patch grid ``(h, w)``.

    Returns:
        np.ndarray: float32 boxes of shape (K, 4) in grid units (not clipped).
    """
    boxes = getattr(bboxes, 'tensor', bboxes)
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4), dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'boxes must have shape (K, 4), got {boxes.shape}')
    (height, width), (h, w) = image_shape, spatial_shape
    scale = np.asarray([w / width, h / height, w / width, h / height])
    return (boxes * scale).astype(np.float32)
