"""Detection transform resizing like FG-CLIP 2's NaFlex preprocessing."""
from mmdet.datasets.transforms import Resize

from fgclip2_mm.utils.naflex import get_image_size_for_max_num_patches
from fgclip2_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FGCLIP2NaFlexResize(Resize):
    """mmdet ``Resize`` to the NaFlex size of a patch budget (boxes, masks, seg maps too).

    Every image gets the largest aspect-preserving size, in multiples of ``patch_size``,
    whose patch grid has at most ``max_num_patches`` cells (the rule of SigLIP 2 /
    FG-CLIP 2 preprocessing, :func:`get_image_size_for_max_num_patches`), so the detector
    sees objects at the scale the encoder was trained at, and no image needs padding to
    the patch grid. ``scale_factor`` is recorded as usual, so predictions are mapped back.

    Args:
        max_num_patches (int): Patch budget per image (e.g. 256 for the synthetic model,
            1024 for FG-CLIP 2's largest training bucket).
        patch_size (int): Patch side. Defaults to 16.
        **kwargs: mmdet ``Resize`` options (``clip_object_border``, ``backend``,
            ``interpolation``); ``scale``, ``scale_factor`` and ``keep_ratio`` are set here.
    """

    def __init__(self, max_num_patches: int, patch_size: int = 16, **kwargs) -> None:
        for key in ('scale', 'scale_factor', 'keep_ratio'):
            if key in kwargs:
                raise ValueError(f'FGCLIP2NaFlexResize sets {key} itself (from '
                                 'max_num_patches); remove it from the config')
        if max_num_patches < 1 or patch_size < 1:
            raise ValueError(f'max_num_patches and patch_size must be >= 1, got '
                             f'{max_num_patches} and {patch_size}')
        super().__init__(scale=(patch_size, patch_size), keep_ratio=False, **kwargs)
        self.max_num_patches = int(max_num_patches)
        self.patch_size = int(patch_size)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        target_h, target_w = get_image_size_for_max_num_patches(
            height, width, self.patch_size, self.max_num_patches)
        results['scale'] = (target_w, target_h)
        self._resize_img(results)
        self._resize_bboxes(results)
        self._resize_masks(results)
        self._resize_seg(results)
        self._record_homography_matrix(results)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_num_patches={self.max_num_patches}, '
                f'patch_size={self.patch_size})')
