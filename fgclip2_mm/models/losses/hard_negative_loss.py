"""``FGCLIP2HardNegativeLoss``: hard-negative caption loss (L_FGT + L_CMR) on the global batch."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.dist import gather_rows_with_grad, get_dist_info
from .functional import (check_hard_negative_shapes, connected_zero,
                         hard_negative_rows_sums, hard_negative_threshold_estimate)


@MODELS.register_module()
class FGCLIP2HardNegativeLoss(nn.Module):
    """Fine-grained hard-negative loss (paper L_FGT + L_CMR, spec 3.5), global batch.

    For the N hard boxes of all ranks, features ``v_i`` and ``K = num_texts`` texts each
    (``g_i = t_i0`` the positive, ``n_ij = t_ij`` the ``K - 1`` negatives),
    ``s = exp(logit_scale)``, ``p_i = s v_i.g_i``, ``q_ij = s v_i.n_ij``::

        L_con  = (1/N) sum_i (CE(s v_i.[g_1..g_N, all n], g_i) + CE(s g_i.[v_1..v_N], v_i)) / 2
        L_pair = (1/N) sum_i CE(s v_i.[t_i0..t_i,K-1], 0)
        L_cmr  = (1/(N (K-1))) sum_ij relu(tau + q_ij - p_i)

    returned as ``loss_hard_contrastive = w * w_con * L_con``, ``loss_hard_pair = w *
    w_pair * L_pair`` and ``loss_hard_cmr = w * w_cmr * L_cmr`` (defaults 0.5 x (0.6, 3,
    0.4), i.e. 0.3, 1.5, 0.2).

    Distribution: each rank gathers every rank's boxes (variable counts, zero allowed),
    computes its own rows against all N and scales by ``W/N`` (``W/(N (K-1))`` for CMR):
    the **mean over ranks of each term equals the single-process term** on the
    concatenated batch; local embedding gradients are W times the global ones and DDP's
    average over W ranks gives exactly the global gradient.

    CMR threshold: the persistent buffer ``cmr_threshold`` (saved in checkpoints). The
    loss at step t uses the stored ``tau_{t-1}``; then, in training mode,
    ``tau_t = clamp(mean_i p_i - mean_ij q_ij, *threshold_range)`` over the *global*
    batch -- computed by every rank from the gathered features, so it equals the
    single-process value and is identical on all ranks without an extra collective.
    With no hard box on any rank, tau is unchanged. Every rank runs the same collectives
    (one count all-gather, then one feature all-gather when some rank has a box).

    Args:
        loss_weight (float): Overall weight. Defaults to 0.5.
        part_weights (Sequence[float]): ``(contrastive, pair, cmr)`` weights inside the
            loss. Defaults to ``(0.6, 3.0, 0.4)``.
        num_texts (int): Texts per hard box (1 positive + negatives). Defaults to 11.
        threshold_range (tuple[float, float]): Clamp of tau. Defaults to ``(0, 10)``.
        init_threshold (float): Initial tau. Defaults to 0.
        normalize (bool): L2-normalise the embeddings first. Defaults to True.
    """

    def __init__(self, loss_weight: float = 0.5,
                 part_weights: Sequence[float] = (0.6, 3.0, 0.4), num_texts: int = 11,
                 threshold_range: Tuple[float, float] = (0.0, 10.0),
                 init_threshold: float = 0.0, normalize: bool = True) -> None:
        super().__init__()
        if len(part_weights) != 3:
            raise ValueError(f'part_weights must be (contrastive, pair, cmr), got '
                             f'{part_weights}')
        if int(num_texts) < 2:
            raise ValueError(f'num_texts must be >= 2 (a positive and a negative), got '
                             f'{num_texts}')
        low, high = (float(v) for v in threshold_range)
        if low > high:
            raise ValueError(f'threshold_range must be (low, high), got {threshold_range}')
        self.loss_weight = float(loss_weight)
        self.part_weights = tuple(float(w) for w in part_weights)
        self.num_texts = int(num_texts)
        self.threshold_range = (low, high)
        self.normalize = normalize
        self.register_buffer('cmr_threshold', torch.tensor(float(init_threshold)),
                             persistent=True)

    def forward(self, region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                logit_scale: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the loss of the local hard boxes and update tau (training mode).

        Args:
            region_embeds (Tensor): (n, D) features of this rank's hard boxes (any float
                dtype; cast to the common dtype with the texts).
            text_embeds (Tensor): (n, num_texts, D) their texts, index 0 the positive.
            logit_scale (Tensor): Log scale of the hard-negative logits (numel 1).

        Returns:
            dict[str, Tensor]: ``loss_hard_contrastive``, ``loss_hard_pair``,
            ``loss_hard_cmr`` (weighted); diagnostics ``cmr_threshold`` (tau used by
            this step's loss), ``hardneg_scale`` (exp(logit_scale)) and
            ``num_hard_boxes`` (global count), detached.
        """
        check_hard_negative_shapes(region_embeds, text_embeds, self.num_texts)
        if self.normalize:
            region_embeds = F.normalize(region_embeds, dim=-1)
            text_embeds = F.normalize(text_embeds, dim=-1)
        dims = region_embeds.shape[1]
        dtype = torch.promote_types(region_embeds.dtype, text_embeds.dtype)
        payload = torch.cat([region_embeds.to(dtype), text_embeds.to(dtype).flatten(1)], 1)
        world_size = get_dist_info()[1]
        rows, sizes, offset = gather_rows_with_grad(payload)
        total = sum(sizes)
        tau = self.cmr_threshold.detach().clone()
        if total == 0:
            zero = connected_zero(region_embeds, text_embeds, logit_scale)
            terms = dict(contrastive=zero, pair=zero, cmr=zero)
        else:
            region_all = rows[:, :dims]
            text_all = rows[:, dims:].reshape(total, self.num_texts, dims)
            sums = hard_negative_rows_sums(region_embeds, text_embeds, region_all, text_all,
                                           logit_scale, tau, offset)
            norm = world_size / total
            terms = dict(contrastive=sums['contrastive'] * norm, pair=sums['pair'] * norm,
                         cmr=sums['cmr'] * (norm / (self.num_texts - 1)))
            if self.training:
                estimate = hard_negative_threshold_estimate(region_all, text_all, logit_scale)
                self.cmr_threshold.copy_(estimate.clamp(*self.threshold_range))
        w_con, w_pair, w_cmr = (self.loss_weight * w for w in self.part_weights)
        return dict(loss_hard_contrastive=w_con * terms['contrastive'],
                    loss_hard_pair=w_pair * terms['pair'],
                    loss_hard_cmr=w_cmr * terms['cmr'],
                    cmr_threshold=tau,
                    hardneg_scale=logit_scale.detach().exp().reshape(()),
                    num_hard_boxes=torch.tensor(float(total), device=region_embeds.device))
