"""``FGCLIP2LoadSegAnnotations``: load label maps of any bit depth (8-bit PNG, 16-bit TIFF)."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from PIL import Image

from fgclip2_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FGCLIP2LoadSegAnnotations(BaseTransform):
    """Load ``results['seg_map_path']`` into ``gt_seg_map`` without narrowing its dtype.

    mmseg's ``LoadAnnotations`` casts every label map to uint8, which is right for the
    255-ignore datasets and silently wrong for ADE20K-847 / PASCAL-Context-459 (16-bit
    labels up to 846 and ignore 65535). This loader keeps uint8 maps as uint8 and wider
    maps as int64, applies ``reduce_zero_label`` (0 -> ``ignore_index``, others - 1) and
    the dataset's ``label_map`` like mmseg's loader.

    Required keys: ``seg_map_path``, ``reduce_zero_label`` (from the dataset), optional
    ``label_map``. Added keys: ``gt_seg_map``, ``seg_fields``.

    Args:
        ignore_index (int): Value written for label 0 under ``reduce_zero_label``.
            Defaults to 255.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self, ignore_index: int = 255, backend_args=None) -> None:
        self.ignore_index = int(ignore_index)
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        with fileio.get_local_path(path, backend_args=self.backend_args) as local:
            with Image.open(local) as img:
                label = np.array(img)
        if label.ndim != 2:
            raise ValueError(f'{path}: a label map must have one channel, got shape '
                             f'{label.shape}')
        if label.dtype not in (np.uint8, np.uint16):
            label = label.astype(np.int32)
        if results.get('reduce_zero_label', False):
            wide = label.astype(np.int64)
            reduced = wide - 1
            reduced[(wide == 0) | (wide == self.ignore_index)] = self.ignore_index
            fits = reduced.max(initial=0) <= np.iinfo(label.dtype).max
            label = reduced.astype(label.dtype if fits else np.int32)
        label_map = results.get('label_map')
        if label_map:
            source = label.copy()
            for old, new in label_map.items():
                label[source == old] = new
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
