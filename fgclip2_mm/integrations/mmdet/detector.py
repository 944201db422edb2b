"""F-ViT-style two-stage detector on the frozen FG-CLIP 2 vision tower."""
import copy
from typing import List, Optional, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmengine.config import ConfigDict

from fgclip2_mm.registry import MODELS
from .backbone import FGCLIP2DetBackbone
from .roi_head import FGCLIP2OVRoIHead
from .utils import host_scope


@MODELS.register_module()
class FGCLIP2OVDetector(TwoStageDetector):
    """Open-vocabulary Faster / Mask R-CNN on FG-CLIP 2 (the F-ViT design).

    Call graph::

        loss / predict(images (B, 3, H, W), data_samples)
          backbone(images, img_shapes)  FGCLIP2DetBackbone: frozen NaFlex ViT on each image's
                                        own patch grid -> 4-level simple pyramid (+ dense map
                                        at test time)
          neck (FPN) -> rpn_head -> roi_head (FGCLIP2OVRoIHead: text classifier, agnostic
          regression, optional agnostic masks, region-score ensemble at test time)

    It differs from ``TwoStageDetector`` only in passing each image's valid ``img_shape``
    (from the data samples) to the backbone, so padded patches are masked out of the ViT's
    attention, and the dense map to the RoI head. Every sub-module is built in the ``mmdet``
    scope whatever the caller's default scope (our classes are named ``fgclip2_mm.X``).

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor,
        init_cfg: As :class:`mmdet.models.detectors.TwoStageDetector` (never mutated).
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 rpn_head: Optional[dict] = None,
                 roi_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        def own(cfg):  # a private ConfigDict copy: mmdet updates these in place
            return None if cfg is None else ConfigDict(copy.deepcopy(cfg))

        with host_scope():
            super().__init__(
                backbone=own(backbone),
                neck=own(neck),
                rpn_head=own(rpn_head),
                roi_head=own(roi_head),
                train_cfg=own(train_cfg),
                test_cfg=own(test_cfg),
                data_preprocessor=own(data_preprocessor),
                init_cfg=copy.deepcopy(init_cfg))
        if not isinstance(self.backbone, FGCLIP2DetBackbone):
            raise ValueError(f'backbone must be "fgclip2_mm.FGCLIP2DetBackbone", got '
                             f'{type(self.backbone).__name__}')
        if not isinstance(self.roi_head, FGCLIP2OVRoIHead):
            raise ValueError(f'roi_head must be "fgclip2_mm.FGCLIP2OVRoIHead", got '
                             f'{type(self.roi_head).__name__}')

    def set_vocabulary(self, *args, **kwargs) -> None:
        """Swap the vocabulary (see :meth:`FGCLIP2OVBBoxHead.set_vocabulary`)."""
        self.roi_head.set_vocabulary(*args, **kwargs)

    @property
    def classes(self) -> List[str]:
        """The current vocabulary (label order)."""
        return list(self.roi_head.bbox_head.classes)

    @staticmethod
    def _img_shapes(batch_data_samples: Optional[SampleList]) -> Optional[list]:
        if not batch_data_samples:
            return None
        return [sample.metainfo['img_shape'][:2] for sample in batch_data_samples]

    def extract_feat_and_dense(self,
                               batch_inputs: torch.Tensor,
                               batch_data_samples: Optional[SampleList] = None,
                               with_dense: bool = False) -> Tuple[tuple, Optional[dict]]:
        """FPN features and (optionally) the backbone's dense map (see the backbone)."""
        levels, dense = self.backbone(batch_inputs, self._img_shapes(batch_data_samples),
                                      with_dense=with_dense)
        x = self.neck(levels) if self.with_neck else levels
        return x, dense

    def extract_feat(self,
                     batch_inputs: torch.Tensor,
                     batch_data_samples: Optional[SampleList] = None) -> tuple:
        """Multi-level features (B, C, H/s, W/s) of the neck; without data samples every
        image is taken to fill the padded batch."""
        return self.extract_feat_and_dense(batch_inputs, batch_data_samples)[0]

    def _rpn_results(self, x: tuple, batch_data_samples: SampleList) -> list:
        if batch_data_samples[0].get('proposals', None) is not None:
            return [sample.proposals for sample in batch_data_samples]
        return self.rpn_head.predict(x, batch_data_samples, rescale=False)

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples: SampleList) -> dict:
        """RPN (class-agnostic targets) and RoI-head losses of a batch."""
        x = self.extract_feat(batch_inputs, batch_data_samples)
        losses = {}
        if self.with_rpn:
            rpn_samples = copy.deepcopy(batch_data_samples)
            for sample in rpn_samples:
                sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
            proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
            rpn_losses, rpn_results = self.rpn_head.loss_and_predict(
                x, rpn_samples, proposal_cfg=proposal_cfg)
            for key, value in rpn_losses.items():
                name = key if 'rpn' in key or 'loss' not in key else f'rpn_{key}'
                losses[name] = value
        else:
            rpn_results = [sample.proposals for sample in batch_data_samples]
        losses.update(self.roi_head.loss(x, rpn_results, batch_data_samples))
        return losses

    def predict(self,
                batch_inputs: torch.Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detections (``pred_instances``) of a batch, labels indexing the vocabulary."""
        x, dense = self.extract_feat_and_dense(batch_inputs, batch_data_samples,
                                               with_dense=self.roi_head.needs_dense)
        results = self.roi_head.predict(x, self._rpn_results(x, batch_data_samples),
                                        batch_data_samples, rescale=rescale, dense=dense)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: torch.Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> tuple:
        """``tensor`` mode: raw RoI-head outputs (classifier logits, box deltas, masks)."""
        x = self.extract_feat(batch_inputs, batch_data_samples)
        rpn_results = self._rpn_results(x, batch_data_samples)
        return (self.roi_head.forward(x, rpn_results, batch_data_samples), )
