"""``FGCLIP2PackInputs``: pack pipeline results into ``inputs`` + ``FGCLIP2DataSample``.

The default keys are those of :mod:`fgclip2_mm.structures.batch_keys`, the table the data
preprocessor and the model read too.
"""
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData

from ...registry import TRANSFORMS
from ...structures import FGCLIP2DataSample
from ...structures.batch_keys import META_KEYS, PACK_SLOT_KEYS, PACK_TEXT_KEYS

#: Metainfo keys packed by default (each only when present, except ``spatial_shape``).
DEFAULT_META_KEYS = META_KEYS
#: Token-id keys packed as data fields by default (each only when present).
DEFAULT_TEXT_KEYS = PACK_TEXT_KEYS
#: Region-slot and mask keys of :class:`FGCLIP2SampleRegions`, packed as tensors with their
#: own dtype (float32 boxes, bool masks), each only when present.
DEFAULT_DATA_KEYS = PACK_SLOT_KEYS


def _as_box_tensor(boxes) -> torch.Tensor:
    boxes = getattr(boxes, 'tensor', boxes)  # mmdet HorizontalBoxes
    tensor = torch.as_tensor(np.asarray(boxes, dtype=np.float32)).reshape(-1, 4)
    return tensor


@TRANSFORMS.register_module()
class FGCLIP2PackInputs:
    """Pack ``results`` into ``dict(inputs=patches, data_samples=FGCLIP2DataSample)``.

    - ``inputs``: float32 tensor of shape (h * w, 3 * p * p) from ``results['patches']``
      (not padded; :class:`~fgclip2_mm.models.data_preprocessors.FGCLIP2DataPreprocessor`
      pads the batch).
    - ``data_samples.metainfo``: the ``meta_keys`` present in ``results``;
      ``spatial_shape`` is required and checked against the number of patches.
    - ``data_samples`` data fields: every ``text_keys`` entry present (as an int64 tensor),
      every ``data_keys`` entry present (as a tensor of its own dtype: float32 region boxes
      (K, 4), bool masks (K,) or ());
      ``gt_instances`` with ``bboxes`` (from ``gt_bboxes``) and ``grid_bboxes`` (from
      ``gt_bboxes_grid``) when ``gt_bboxes`` is present.

    Args:
        meta_keys (Sequence[str]): Metainfo keys. Defaults to :data:`DEFAULT_META_KEYS`.
        text_keys (Sequence[str]): Token-id keys. Defaults to :data:`DEFAULT_TEXT_KEYS`.
        data_keys (Sequence[str]): Other tensor keys. Defaults to :data:`DEFAULT_DATA_KEYS`.
        patches_key (str): Key of the patches. Defaults to ``'patches'``.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 text_keys: Sequence[str] = DEFAULT_TEXT_KEYS,
                 patches_key: str = 'patches',
                 data_keys: Sequence[str] = DEFAULT_DATA_KEYS) -> None:
        for name, keys in (('meta_keys', meta_keys), ('text_keys', text_keys),
                           ('data_keys', data_keys)):
            if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
                raise ValueError(f'{name} must be a sequence of str, got {keys!r}')
        self.meta_keys = tuple(meta_keys)
        if 'spatial_shape' not in self.meta_keys:
            self.meta_keys += ('spatial_shape', )
        self.text_keys = tuple(text_keys)
        self.data_keys = tuple(data_keys)
        self.patches_key = patches_key

    def transform(self, results: dict) -> dict:
        """Pack one sample.

        Args:
            results (dict): Result dict after patchification (and tokenisation).

        Returns:
            dict: ``inputs`` (Tensor (N, D)) and ``data_samples`` (FGCLIP2DataSample).
        """
        for key in (self.patches_key, 'spatial_shape'):
            if key not in results:
                raise KeyError(f'FGCLIP2PackInputs: results has no {key!r} key (run '
                               f'FGCLIP2NaFlexPatchify first; keys: {sorted(results)})')
        patches = torch.as_tensor(
            np.ascontiguousarray(results[self.patches_key]), dtype=torch.float32)
        h, w = (int(v) for v in results['spatial_shape'])
        if patches.ndim != 2 or patches.shape[0] != h * w:
            raise ValueError(f'FGCLIP2PackInputs: patches of shape {tuple(patches.shape)} do '
                             f'not match spatial_shape {(h, w)}')
        sample = FGCLIP2DataSample()
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        for key in self.text_keys:
            if results.get(key) is not None:
                sample.set_data({key: torch.as_tensor(results[key], dtype=torch.long)})
        for key in self.data_keys:
            if results.get(key) is not None:
                sample.set_data({key: torch.as_tensor(np.asarray(results[key]))})
        if results.get('gt_bboxes') is not None:
            instances = InstanceData()
            instances.bboxes = _as_box_tensor(results['gt_bboxes'])
            if results.get('gt_bboxes_grid') is not None:
                instances.grid_bboxes = _as_box_tensor(results['gt_bboxes_grid'])
            sample.gt_instances = instances
        return dict(inputs=patches, data_samples=sample)

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'text_keys={self.text_keys}, patches_key={self.patches_key!r}, '
                f'data_keys={self.data_keys})')
