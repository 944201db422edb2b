"""``FGCLIP2TrainingFreeSegmentor``: dense FG-CLIP 2 features against class texts."""
from typing import List, Optional

import torch
import torch.nn.functional as F

from fgclip2_mm.registry import MODELS
from .base import EMPTY_CLASS_LOGIT, FGCLIP2OVSegmentorBase


def class_logits_from_queries(dense: torch.Tensor, embeds: torch.Tensor, owner: torch.Tensor,
                              num_classes: int) -> torch.Tensor:
    """Cosine similarity of every pixel with every query, reduced to classes by a max over
    each class's queries (its synonyms).

    Args:
        dense (Tensor): Features (B, D, h, w) (normalised here).
        embeds (Tensor): L2-normalised query embeddings (Q, D).
        owner (Tensor): Class index of each query (Q,).
        num_classes (int): K; classes owning no query get :data:`EMPTY_CLASS_LOGIT`.

    Returns:
        Tensor: (B, K, h, w) cosine similarities.
    """
    cos = torch.einsum('bdhw,qd->bqhw', F.normalize(dense.float(), dim=1), embeds.float())
    out = cos.new_full((cos.shape[0], num_classes, *cos.shape[2:]), EMPTY_CLASS_LOGIT)
    index = owner.view(1, -1, 1, 1).expand_as(cos)
    return out.scatter_reduce(1, index, cos, reduce='amax', include_self=False)


def drop_small_classes(probs: torch.Tensor, area_thd: float, bg_idx: int) -> torch.Tensor:
    """SCLIP's ``area_thd`` (wangf3014/SCLIP ``clip_segmentor.py`` l.162-167): the scores of
    every non-background class whose argmax area is at most ``area_thd`` of all non-background
    argmax pixels become 0.

    Args:
        probs (Tensor): Class probabilities (K, H, W).
        area_thd (float): Fraction of the foreground area.
        bg_idx (int): The background class (never dropped).

    Returns:
        Tensor: New (K, H, W) scores.
    """
    area = torch.bincount(probs.argmax(0).flatten(), minlength=probs.shape[0]).float()
    area[bg_idx] = 0
    keep = area > area_thd * area.sum()
    keep[bg_idx] = True
    return probs * keep.to(probs.dtype)[:, None, None]


@MODELS.register_module()
class FGCLIP2TrainingFreeSegmentor(FGCLIP2OVSegmentorBase):
    """Training-free open-vocabulary segmentation with FG-CLIP 2 (MaskCLIP / SCLIP lineage).

    FG-CLIP 2's dense head gives every patch a feature in the space of the **box-walk**
    text embeddings (its region loss pools these features with RoIAlign and contrasts
    them with region phrases), so no attention surgery is needed: the class score of a
    patch is its cosine similarity with the class's text (max over synonyms, each synonym a
    prompt-template ensemble), scaled by ``logit_scale`` and upsampled bilinearly to the
    image; softmax over classes, the background threshold and the argmax follow in
    :meth:`postprocess_result`.

    Call graph::

        predict(inputs, data_samples)
          inference -> whole: encode_decode | slide: encode_decode per window, averaged
            encode_decode: dense_features (NaFlex grid from patch_budget)
                           -> class_logits_from_queries(dense, class_queries())
                           -> * logit_scale -> bilinear to the input size
          postprocess_result: crop padding, unflip, resize to ori_shape, softmax,
                              apply_background (area_thd, prob_thd), argmax

    Args:
        logit_scale (float, optional): Multiplier of the cosine similarities before the
            softmax. Defaults to None: ``exp(clip.logit_scale_region)``, the temperature
            FG-CLIP 2 trains region-text matching with (100 at initialisation).
        area_thd (float, optional): SCLIP's small-class rule (:func:`drop_small_classes`,
            applied before ``prob_thd``; SCLIP sets 0.1 on VOC-21 only). Defaults to None.
        **kwargs: See :class:`FGCLIP2OVSegmentorBase`.
    """

    def __init__(self, logit_scale: Optional[float] = None, area_thd: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if logit_scale is not None and not float(logit_scale) > 0:
            raise ValueError(f'logit_scale must be positive, got {logit_scale}')
        if area_thd is not None and not 0 <= float(area_thd) < 1:
            raise ValueError(f'area_thd must lie in [0, 1), got {area_thd}')
        self.logit_scale = None if logit_scale is None else float(logit_scale)
        self.area_thd = None if area_thd is None else float(area_thd)
        self.clip.requires_grad_(False)

    def apply_background(self, probs: torch.Tensor) -> torch.Tensor:
        """SCLIP's ``area_thd`` (if set), then the background threshold (see the base)."""
        if self.area_thd is not None:
            probs = drop_small_classes(probs, self.area_thd, self.bg_idx)
        return super().apply_background(probs)

    def scale(self) -> float:
        """The softmax temperature multiplier in use."""
        if self.logit_scale is not None:
            return self.logit_scale
        return float(self.clip.logit_scale_region.detach().exp())

    @torch.no_grad()
    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Class logits (B, K, H, W) at the size of ``inputs`` (B, 3, H, W)."""
        embeds, owner = self.class_queries()
        dense = self.dense_features(inputs)['dense']
        cos = class_logits_from_queries(dense, embeds, owner, self.vocabulary().num_classes)
        logits = cos * self.scale()
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)

    def loss(self, inputs, data_samples) -> dict:
        """Not trainable; use :class:`FGCLIP2CATSegmentor` for a trained head."""
        raise ValueError('FGCLIP2TrainingFreeSegmentor has nothing to train; use '
                         'fgclip2_mm.FGCLIP2CATSegmentor for the trained protocol')
