"""``FGCLIP2NaFlexPatchify``: the NaFlex preprocessing as a dataloader transform."""
from typing import Optional, Tuple

import numpy as np

from ...registry import TRANSFORMS
from fgclip2_mm.utils.naflex import (check_rgb_uint8, naflex_patchify, pixel_boxes_to_grid, resize_uint8,
                     select_patch_budget)

INPUT_ORDERS = ('rgb', 'bgr')


@TRANSFORMS.register_module()
class FGCLIP2NaFlexPatchify:
    """Resize an image under a patch budget, normalise it and cut it into NaFlex patches.

    Pure numpy + PIL (no mmcv); see :mod:`fgclip2_mm.utils.naflex` for the
    exact arithmetic (bit-identical to transformers' PIL ``Siglip2ImageProcessor``).

    Budget per image:

    - ``dynamic_budget=True``: the FG-CLIP 2 bucket of this image
      (:func:`~fgclip2_mm.utils.naflex.select_patch_budget`), capped by
      ``max_num_patches`` when that is given (FG-CLIP 2 evaluation, README demos).
    - ``dynamic_budget=False``: always ``max_num_patches`` (required).

    The reference *training* collator picks one bucket per batch (the largest) and resizes
    every image of the batch under it; a per-sample transform cannot see the batch. With
    batches of 512 that bucket is almost always 1024, so ``max_num_patches=1024,
    dynamic_budget=False`` is the closest per-sample equivalent for pretraining.

    Required keys: ``img`` (or ``img_key``): (H, W, 3) uint8 in ``input_order``.

    Modified keys: ``ori_shape`` (set to the input (H, W) only when absent).

    Added keys:

    - ``patches`` (np.ndarray): float32 (h * w, 3 * p * p), not padded.
    - ``spatial_shape`` (tuple[int, int]): patch grid ``(h, w)``.
    - ``img_shape`` (tuple[int, int]): resized image ``(h * p, w * p)``.
    - ``scale_factor`` (tuple[float, float]): ``(w * p / W, h * p / H)`` relative to the
      input image (the composite of the optional small-image square resize and the NaFlex
      resize, both of which are axis-aligned scalings).
    - ``num_patches_budget`` (int): the budget used.
    - ``gt_bboxes_grid`` (np.ndarray): only when ``gt_bboxes`` (pixel ``xyxy`` of the input
      image, shape (K, 4)) is present: the same boxes in patch-grid units (``x * w / W``,
      ``y * h / H``). ``gt_bboxes`` itself is left in input-image pixels.

    Args:
        max_num_patches (int, optional): Fixed budget, or the cap of the dynamic budget.
        patch_size (int): Patch side in pixels. Defaults to 16.
        dynamic_budget (bool): Use the FG-CLIP 2 bucket table. Defaults to True.
        min_side (int, optional): FG-CLIP 2 training extra, off by default: an image whose
            width or height is below ``min_side`` (the reference uses 128) is first resized
            to a ``small_image_size`` square with PIL bicubic (PIL's default filter, as in
            ``image.resize((512, 512))`` of the reference). This distorts the aspect ratio
            (reference bug list, spec section 3.7 #18); boxes stay consistent because the
            grid mapping uses the input image size.
        small_image_size (int): Side of that square. Defaults to 512 (``box_image_size``).
        input_order (str): Channel order of the input, ``'rgb'`` (our
            ``FGCLIP2LoadImage``) or ``'bgr'`` (mmcv's ``LoadImageFromFile``).
        img_key (str): Key of the image in ``results``. Defaults to ``'img'``.
    """

    def __init__(self,
                 max_num_patches: Optional[int] = None,
                 patch_size: int = 16,
                 dynamic_budget: bool = True,
                 min_side: Optional[int] = None,
                 small_image_size: int = 512,
                 input_order: str = 'rgb',
                 img_key: str = 'img') -> None:
        for name, value, optional in (('max_num_patches', max_num_patches,
                                       True), ('patch_size', patch_size, False),
                                      ('min_side', min_side, True), ('small_image_size',
                                                                     small_image_size, False)):
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        if not dynamic_budget and max_num_patches is None:
            raise ValueError('dynamic_budget=False needs an explicit max_num_patches')
        if input_order not in INPUT_ORDERS:
            raise ValueError(f'input_order must be one of {INPUT_ORDERS}, got {input_order!r}')
        self.max_num_patches = max_num_patches
        self.patch_size = patch_size
        self.dynamic_budget = bool(dynamic_budget)
        self.min_side = min_side
        self.small_image_size = small_image_size
        self.input_order = input_order
        self.img_key = img_key

    def budget_for(self, height: int, width: int) -> int:
        """Patch budget of an image of ``(height, width)`` pixels under this configuration."""
        if not self.dynamic_budget:
            return self.max_num_patches
        budget = select_patch_budget(height, width, self.patch_size)
        if self.max_num_patches is not None:
            budget = min(budget, self.max_num_patches)
        return budget

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        if self.input_order == 'bgr':
            image = image[..., ::-1]
        image = check_rgb_uint8(image, name=f'results[{self.img_key!r}]')
        if self.min_side is not None and min(image.shape[:2]) < self.min_side:
            size = (self.small_image_size, self.small_image_size)
            image = resize_uint8(image, size, resample='bicubic')
        return image

    def transform(self, results: dict) -> dict:
        """Patchify ``results[img_key]`` in place (see the class docstring for the keys).

        Args:
            results (dict): Result dict of the pipeline.

        Returns:
            dict: The same dict with the added keys.
        """
        if self.img_key not in results:
            raise KeyError(f'FGCLIP2NaFlexPatchify: results has no {self.img_key!r} key '
                           f'(keys: {sorted(results)})')
        image = results[self.img_key]
        in_shape: Tuple[int, int] = tuple(int(v) for v in np.shape(image)[:2])
        image = self._prepare(image)
        budget = self.budget_for(*image.shape[:2])
        patches, (h, w) = naflex_patchify(image, budget, self.patch_size)
        p = self.patch_size
        results.setdefault('ori_shape', in_shape)
        results['patches'] = patches
        results['spatial_shape'] = (h, w)
        results['img_shape'] = (h * p, w * p)
        results['scale_factor'] = (w * p / in_shape[1], h * p / in_shape[0])
        results['num_patches_budget'] = budget
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes_grid'] = pixel_boxes_to_grid(results['gt_bboxes'], in_shape, (h, w))
        return results

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_num_patches={self.max_num_patches}, '
                f'patch_size={self.patch_size}, dynamic_budget={self.dynamic_budget}, '
                f'min_side={self.min_side}, small_image_size={self.small_image_size}, '
                f'input_order={self.input_order!r}, img_key={self.img_key!r})')
