"""``FGCLIP2SigmoidLoss``: the global SigLIP loss on short and long captions."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.dist import EXCHANGE_IMPLS, all_gather_ints, get_dist_info, iter_remote_rows
from .functional import connected_zero, sigmoid_pair_loss_sum


@MODELS.register_module()
class FGCLIP2SigmoidLoss(nn.Module):
    """Sigmoid (SigLIP) loss of images against short and long captions (spec 3.2).

    For every caption family, with ``z_ij = exp(logit_scale) x_i . y_j + logit_bias`` and
    labels ``l_ij = +1`` iff text j is image i's own caption, ``-1`` otherwise::

        L = -(1/N) sum_{i in global batch} sum_{j in global batch, valid} log sigmoid(l_ij z_ij)

    N = total number of images over all ranks. Rank r computes its local images against
    the texts of every rank (positives only in its own B_r x B_r block) and returns
    ``(W/N) * sum_{i on r} sum_j ...``, so the **mean over ranks equals L**; with equal
    local batches W/N = 1/B, the reference's normalisation. Gradients reaching the local
    embeddings are W times those of L (the exchange's backward sums the remote
    contributions); DDP's average over W ranks yields exactly grad L for the parameters.

    Negatives from the other ranks (only texts travel; images stay local, every pair is
    scored once, on the rank that owns the image):

    * ``dist_impl='gather'``: one autograd all-gather of the local texts (short, long and
      the long-caption validity, in one payload), then one B x B block per source rank.
    * ``dist_impl='bidir'``: neighbour P2P exchange (``floor((W-1)/2)`` two-way rounds
      plus one one-way round when W is even), one B x B block per round.

    No rank ever materialises the global N x N logits. Before the exchange one small
    all-gather shares every rank's (batch size, has-long-captions) so that ranks with
    unequal batch sizes are padded, and a rank called without long captions while others
    have them takes part with all its long captions invalid (collectives stay in sync).

    ``long_text_valid`` marks samples that have a long caption; the others' long-caption
    columns are dropped from every rank's long loss (negatives and positive), their images
    still see the valid long captions of the batch as negatives.

    Args:
        loss_weight_short (float): Weight of ``loss_siglip_short``. Defaults to 1.0.
        loss_weight_long (float): Weight of ``loss_siglip_long``. Defaults to 1.0.
        dist_impl (str): ``'gather'`` or ``'bidir'``. Defaults to ``'gather'``.
        normalize (bool): L2-normalise the embeddings first. Defaults to True.
    """

    def __init__(self, loss_weight_short: float = 1.0, loss_weight_long: float = 1.0,
                 dist_impl: str = 'gather', normalize: bool = True) -> None:
        super().__init__()
        if dist_impl not in EXCHANGE_IMPLS:
            raise ValueError(f'dist_impl={dist_impl!r} is not supported, expected one of '
                             f'{EXCHANGE_IMPLS}')
        self.loss_weight_short = float(loss_weight_short)
        self.loss_weight_long = float(loss_weight_long)
        self.dist_impl = dist_impl
        self.normalize = normalize

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                logit_scale: torch.Tensor, logit_bias: torch.Tensor,
                long_text_embeds: Optional[torch.Tensor] = None,
                long_text_valid: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Compute the losses of the local batch against the global batch.

        Args:
            image_embeds (Tensor): (B, D) image embeddings of this rank.
            text_embeds (Tensor): (B, D) short-caption embeddings.
            logit_scale (Tensor): Log scale (numel 1); the multiplier is its exp.
            logit_bias (Tensor): Bias (numel 1).
            long_text_embeds (Tensor, optional): (B, D) long-caption embeddings.
            long_text_valid (Tensor, optional): (B,) bool, True where the sample has a
                long caption. Defaults to all True.

        Returns:
            dict[str, Tensor]: ``loss_siglip_short`` and, when any rank has long
            captions, ``loss_siglip_long`` (weighted); diagnostics ``siglip_scale``
            (exp(logit_scale)) and ``siglip_bias``, detached.
        """
        batch, dims = image_embeds.shape[0], image_embeds.shape[-1]
        shapes = [tuple(t.shape) for t in (image_embeds, text_embeds, long_text_embeds)
                  if t is not None]
        if image_embeds.dim() != 2 or any(s != (batch, dims) for s in shapes):
            raise ValueError(f'image, short and long text embeddings must all be (B, D), got '
                             f'{shapes}')
        if long_text_valid is not None:
            if long_text_embeds is None or tuple(long_text_valid.shape) != (batch, ):
                raise ValueError('long_text_valid needs long_text_embeds and shape (B,), got '
                                 f'{tuple(long_text_valid.shape)}')
        if self.normalize:
            image_embeds, text_embeds = F.normalize(image_embeds, dim=-1), F.normalize(
                text_embeds, dim=-1)
            if long_text_embeds is not None:
                long_text_embeds = F.normalize(long_text_embeds, dim=-1)
        world_size = get_dist_info()[1]
        counts = all_gather_ints([batch, long_text_embeds is not None], image_embeds.device)
        sizes = [row[0] for row in counts]
        any_long = any(row[1] for row in counts)
        out = dict(siglip_scale=logit_scale.detach().exp().reshape(()),
                   siglip_bias=logit_bias.detach().reshape(()))
        total = sum(sizes)
        if total == 0:
            inputs = (image_embeds, text_embeds, long_text_embeds, logit_scale, logit_bias)
            zero = connected_zero(*[t for t in inputs if t is not None])
            out['loss_siglip_short'] = zero
            if any_long:
                out['loss_siglip_long'] = zero
            return out

        if any_long and long_text_embeds is None:
            long_text_embeds = text_embeds.new_zeros(batch, dims)
            long_text_valid = torch.zeros(batch, dtype=torch.bool, device=text_embeds.device)
        elif long_text_valid is None:
            long_text_valid = torch.ones(batch, dtype=torch.bool, device=text_embeds.device)
        else:
            long_text_valid = long_text_valid.to(torch.bool)

        short = sigmoid_pair_loss_sum(image_embeds, text_embeds, logit_scale, logit_bias)
        long = None
        payload = text_embeds
        if any_long:
            long = sigmoid_pair_loss_sum(image_embeds, long_text_embeds, logit_scale,
                                         logit_bias, text_valid=long_text_valid)
            dtype = torch.promote_types(text_embeds.dtype, long_text_embeds.dtype)
            # The validity travels as an extra (gradient-free) column of the payload.
            payload = torch.cat([text_embeds.to(dtype), long_text_embeds.to(dtype),
                                 long_text_valid.to(dtype)[:, None]], dim=1)
        for _, rows in iter_remote_rows(payload, sizes, self.dist_impl):
            short = short + sigmoid_pair_loss_sum(image_embeds, rows[:, :dims], logit_scale,
                                                  logit_bias, negative_only=True)
            if any_long:
                long = long + sigmoid_pair_loss_sum(
                    image_embeds, rows[:, dims:2 * dims], logit_scale, logit_bias,
                    negative_only=True, text_valid=rows[:, 2 * dims] > 0.5)
        norm = world_size / total
        out['loss_siglip_short'] = self.loss_weight_short * norm * short
        if any_long:
            out['loss_siglip_long'] = self.loss_weight_long * norm * long
        return out
