"""``FGCLIP2TICLoss``: textual intra-modal contrastive loss (L_TIC) on the global batch."""
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.dist import gather_rows_with_grad, get_dist_info
from .functional import connected_zero, tic_rows_sum


@MODELS.register_module()
class FGCLIP2TICLoss(nn.Module):
    """Textual intra-modal contrastive loss (paper L_TIC, spec 3.4), global batch.

    With the N region-caption embeddings T of all ranks, ``S = T T^T`` with the diagonal
    and every entry ``> duplicate_threshold`` set to 0, and ``V_i`` the ``k`` largest
    entries of row i::

        L = (1/N) sum_i log sum_{k} exp(V_ik),   k = min(top_k, N - 1)

    (no temperature, no positives). Fewer captions than ``top_k`` + 1: every other caption
    is used (the reference silently drops the loss there); ``N <= 1``: a connected zero.
    Rank r gathers every rank's captions (variable counts), computes its own rows against
    all N and returns ``(W/N) * sum_{i on r} ...``: the **mean over ranks equals L**;
    gradients reaching the local embeddings are W times those of L (DDP averages over W).

    Args:
        loss_weight (float): Weight of ``loss_tic``. Defaults to 0.1.
        top_k (int): Hardest other captions per row. Defaults to 10.
        duplicate_threshold (float): Cosine above which two captions count as
            duplicates (not pushed apart). Defaults to 0.95.
        normalize (bool): L2-normalise the embeddings first. Defaults to True.
    """

    def __init__(self, loss_weight: float = 0.1, top_k: int = 10,
                 duplicate_threshold: float = 0.95, normalize: bool = True) -> None:
        super().__init__()
        if int(top_k) < 1:
            raise ValueError(f'top_k must be >= 1, got {top_k}')
        self.loss_weight = float(loss_weight)
        self.top_k = int(top_k)
        self.duplicate_threshold = float(duplicate_threshold)
        self.normalize = normalize

    def forward(self, text_embeds: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the loss of the local region captions against the global batch.

        Args:
            text_embeds (Tensor): (n, D) region-caption embeddings of this rank.

        Returns:
            dict[str, Tensor]: ``loss_tic`` (weighted).
        """
        if text_embeds.dim() != 2:
            raise ValueError(f'text_embeds must be (n, D), got {tuple(text_embeds.shape)}')
        if self.normalize:
            text_embeds = F.normalize(text_embeds, dim=-1)
        world_size = get_dist_info()[1]
        rows, sizes, offset = gather_rows_with_grad(text_embeds)
        total = sum(sizes)
        if total <= 1:
            loss = connected_zero(text_embeds, rows)
        else:
            loss = tic_rows_sum(text_embeds, rows, offset, self.top_k, self.duplicate_threshold)
            loss = loss * (world_size / total)
        return dict(loss_tic=self.loss_weight * loss)
