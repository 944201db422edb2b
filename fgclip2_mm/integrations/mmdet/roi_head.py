"""Open-vocabulary RoI head: mmdet's standard head + the FG-CLIP 2 region-score ensemble."""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmengine.structures import InstanceData

from fgclip2_mm.models.utils.region_features import pad_boxes, roi_align_1x1
from fgclip2_mm.registry import MODELS
from .bbox_head import FGCLIP2OVBBoxHead
from .utils import host_scope


@MODELS.register_module()
class FGCLIP2OVRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose box head is :class:`FGCLIP2OVBBoxHead`.

    Training is mmdet's (the box head masks novel classes). At test time, for every proposal,
    the FG-CLIP 2 region embedding is pooled from the backbone's dense map (RoIAlign 1x1,
    adaptive sampling, aligned, on each image's own patch grid, as FG-CLIP 2 computes region
    features) and ensembled with the classifier (:meth:`FGCLIP2OVBBoxHead.class_probs`); an
    optional mask head (class-agnostic ``FCNMaskHead`` for OV-LVIS) runs as usual.

    Args:
        **kwargs: :class:`mmdet.models.roi_heads.StandardRoIHead` arguments; ``bbox_head``
            must be an ``FGCLIP2OVBBoxHead`` config.
    """

    def __init__(self, **kwargs) -> None:
        with host_scope():
            super().__init__(**copy.deepcopy(kwargs))
        if not isinstance(self.bbox_head, FGCLIP2OVBBoxHead):
            raise ValueError(f'FGCLIP2OVRoIHead needs bbox_head of type "fgclip2_mm.'
                             f'FGCLIP2OVBBoxHead", got {type(self.bbox_head).__name__}')
        if self.with_mask and not getattr(self.mask_head, 'class_agnostic', False):
            raise ValueError('the mask head must be class-agnostic (class_agnostic=True): the '
                             'vocabulary changes between training and test')

    @property
    def needs_dense(self) -> bool:
        """Whether :meth:`predict` uses the backbone's dense map (region-score ensemble)."""
        return self.bbox_head.ensemble is not None

    def set_vocabulary(self, *args, **kwargs) -> None:
        """See :meth:`FGCLIP2OVBBoxHead.set_vocabulary`."""
        self.bbox_head.set_vocabulary(*args, **kwargs)

    @staticmethod
    def region_embeds(dense: dict, proposals: Sequence[torch.Tensor]) -> torch.Tensor:
        """FG-CLIP 2 region embeddings (sum K_i, D) of pixel boxes (resized-image frame).

        Args:
            dense (dict): The backbone's ``tokens`` (B, N, D), ``spatial_shapes`` (B, 2) and
                ``patch_size``.
            proposals (Sequence[Tensor]): Per image (K_i, 4) xyxy pixel boxes.
        """
        boxes, counts = pad_boxes(list(proposals), dense['tokens'].device)
        grid = boxes / float(dense['patch_size'])
        feats = roi_align_1x1(dense['tokens'], dense['spatial_shapes'], grid)  # (B, K, D)
        return torch.cat([feats[i, :n] for i, n in enumerate(counts)])

    def predict(self,
                x: Tuple[torch.Tensor],
                rpn_results_list: List[InstanceData],
                batch_data_samples: SampleList,
                rescale: bool = False,
                dense: Optional[dict] = None) -> List[InstanceData]:
        """Boxes (and masks) of a batch; ``dense`` is the backbone's dense map (or None)."""
        metas = [sample.metainfo for sample in batch_data_samples]
        results = self.predict_bbox(
            x, metas, rpn_results_list, self.test_cfg,
            rescale=rescale and not self.with_mask, dense=dense)
        if self.with_mask:
            results = self.predict_mask(x, metas, results, rescale=rescale)
        return results

    def predict_bbox(self,
                     x: Tuple[torch.Tensor],
                     batch_img_metas: List[dict],
                     rpn_results_list: List[InstanceData],
                     rcnn_test_cfg,
                     rescale: bool = False,
                     dense: Optional[dict] = None) -> List[InstanceData]:
        """Classify and regress the proposals, ensembling with the region score."""
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return empty_instances(batch_img_metas, rois.device, task_type='bbox',
                                   box_type=self.bbox_head.predict_box_type,
                                   num_classes=self.bbox_head.num_classes,
                                   score_per_cls=rcnn_test_cfg is None)
        out = self._bbox_forward(x, rois)
        regions = None
        if dense is not None and self.needs_dense:
            regions = self.region_embeds(dense, proposals)
        probs = self.bbox_head.class_probs(out['cls_score'], regions)
        counts = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts),
            cls_scores=probs.split(counts),
            bbox_preds=out['bbox_pred'].split(counts),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale)
