"""``FGCLIP2RegionContrastiveLoss``: region-text InfoNCE (L_FGV) on the global batch."""
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.dist import gather_rows_with_grad, get_dist_info
from .functional import connected_zero, region_contrastive_rows_sum


@MODELS.register_module()
class FGCLIP2RegionContrastiveLoss(nn.Module):
    """Symmetric region-text InfoNCE (paper L_FGV, spec 3.3), over the **global** batch.

    With the N valid boxes of all ranks, ``P = exp(logit_scale) V T^T`` (N x N)::

        L = (1/N) sum_i (CE(P_i, i) + CE(P^T_i, i)) / 2

    Every other box of the global batch (same image or not) is a negative, as in the
    reference for its local batch. Rank r gathers the region features and captions of
    every rank (variable counts; ranks with zero boxes take part), computes its own rows
    against all N columns and returns ``(W/N) * sum_{i on r} ...``: the **mean over ranks
    equals L**; the gradients reaching the local embeddings are W times those of L, and
    DDP's average over W ranks gives exactly grad L. With no box on any rank the loss is
    a zero connected to the inputs.

    Args:
        loss_weight (float): Weight of ``loss_region``. Defaults to 0.2.
        normalize (bool): L2-normalise the embeddings first. Defaults to True.
    """

    def __init__(self, loss_weight: float = 0.2, normalize: bool = True) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.normalize = normalize

    def forward(self, region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                logit_scale: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the loss of the local boxes against the global batch.

        Args:
            region_embeds (Tensor): (n, D) features of this rank's valid boxes (any
                float dtype; cast to the common dtype with the texts).
            text_embeds (Tensor): (n, D) embeddings of their region captions.
            logit_scale (Tensor): Log scale (numel 1).

        Returns:
            dict[str, Tensor]: ``loss_region`` (weighted); diagnostics ``region_scale``
            (exp(logit_scale)) and ``num_regions`` (global box count), detached.
        """
        if region_embeds.dim() != 2 or region_embeds.shape != text_embeds.shape:
            raise ValueError('region_embeds and text_embeds must both be (n, D), got '
                             f'{tuple(region_embeds.shape)} and {tuple(text_embeds.shape)}')
        if self.normalize:
            region_embeds = F.normalize(region_embeds, dim=-1)
            text_embeds = F.normalize(text_embeds, dim=-1)
        dims = region_embeds.shape[1]
        dtype = torch.promote_types(region_embeds.dtype, text_embeds.dtype)
        payload = torch.cat([region_embeds.to(dtype), text_embeds.to(dtype)], dim=1)
        world_size = get_dist_info()[1]
        rows, sizes, offset = gather_rows_with_grad(payload)
        total = sum(sizes)
        if total == 0:
            loss = connected_zero(region_embeds, text_embeds, logit_scale)
        else:
            loss = region_contrastive_rows_sum(region_embeds, text_embeds, rows[:, :dims],
                                               rows[:, dims:], logit_scale, offset)
            loss = loss * (world_size / total)
        return dict(loss_region=self.loss_weight * loss,
                    region_scale=logit_scale.detach().exp().reshape(()),
                    num_regions=torch.tensor(float(total), device=region_embeds.device))
