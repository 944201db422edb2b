"""``FGCLIP2DataSample``: per-sample annotations travelling next to the NaFlex patches."""
import torch
from mmengine.structures import BaseDataElement, InstanceData


class FGCLIP2DataSample(BaseDataElement):
    """Data sample of FG-CLIP 2 (minimal; the pretraining work extends it).

    Metainfo written by :class:`~fgclip2_mm.datasets.transforms.FGCLIP2PackInputs`
    (each only when the pipeline produced it):

    - ``spatial_shape`` (tuple[int, int]): patch grid ``(h, w)``; always present.
    - ``num_patches_budget`` (int): the patch budget the image was resized under.
    - ``img_path`` (str), ``ori_shape`` / ``img_shape`` (tuple[int, int], ``(H, W)`` of the
      input and of the resized image), ``scale_factor`` (tuple[float, float], ``(w, h)``
      scales), ``sample_idx`` (int).

    Data fields (properties):

    - ``text_short`` (Tensor): int64 ids of shape (L,) (short walk, L = 64).
    - ``text_long`` (Tensor): int64 ids of shape (L,) (long walk, L = 196).
    - ``gt_instances`` (InstanceData): regions; ``bboxes`` (K, 4) float32 pixel ``xyxy``
      of the input image and ``grid_bboxes`` (K, 4) float32 in patch-grid units.

    The other pretraining fields (region and hard-negative ids, region slots and masks) are
    set under the sample keys of :mod:`fgclip2_mm.structures.batch_keys`, the table that
    packing, the data preprocessor and the model share.
    """

    @property
    def text_short(self) -> torch.Tensor:
        """Tensor: int64 ids of the short caption, shape (L,)."""
        return self._text_short

    @text_short.setter
    def text_short(self, value: torch.Tensor) -> None:
        self.set_field(value, '_text_short', dtype=torch.Tensor)

    @text_short.deleter
    def text_short(self) -> None:
        del self._text_short

    @property
    def text_long(self) -> torch.Tensor:
        """Tensor: int64 ids of the long caption, shape (L,)."""
        return self._text_long

    @text_long.setter
    def text_long(self, value: torch.Tensor) -> None:
        self.set_field(value, '_text_long', dtype=torch.Tensor)

    @text_long.deleter
    def text_long(self) -> None:
        del self._text_long

    @property
    def gt_instances(self) -> InstanceData:
        """InstanceData: Regions (``bboxes`` and ``grid_bboxes``, each (K, 4))."""
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_instances', dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances
