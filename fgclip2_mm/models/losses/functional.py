"""Pure functions for the FG-CLIP 2 losses (spec ``docs/fgclip2_spec.md`` section 3).

Conventions shared by every function:

* Embeddings are expected to be **L2-normalised already**; nothing here normalises
  (the registered modules do, unless built with ``normalize=False``).
* ``logit_scale`` is always the stored *log* scale; the multiplier is ``exp(logit_scale)``.
* dtypes: embeddings are first cast to their common (promoted) dtype, so a bf16 region
  feature meets an fp32 text feature as fp32, deliberately (the reference casts to bf16
  unconditionally and its mixed-dtype matmul then fails, spec 3.7 bug 3). The matmul runs
  in that dtype and the logits are upcast to at least fp32 before any log-sigmoid,
  softmax or log-sum-exp, so bf16 inputs give fp32 losses.
* ``*_rows_sum`` variants compute the *sum* of the per-row terms of a block of local rows
  against global columns (``offset`` = global index of the first local row). Summing
  them over a row partition gives the single-process sum, which is how the modules
  distribute the losses; the plain functions are ``rows_sum(x, x, offset=0) / count``.
* When there is nothing to compute the result is a zero that is still connected to the
  autograd graph of the inputs (:func:`connected_zero`), so DDP sees every parameter.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

Scalar = Union[torch.Tensor, float]


def connected_zero(*tensors: torch.Tensor) -> torch.Tensor:
    """A 0-dim fp32-or-wider zero whose graph reaches every tensor given (zero gradient).

    Built from empty slices, so it stays exactly 0 even if an input holds inf/NaN.
    """
    dtype = compute_dtype(*tensors)
    zero = tensors[0].new_zeros((), dtype=dtype)
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor):
            zero = zero + tensor.reshape(-1)[:0].sum().to(dtype)
    return zero


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """Promoted dtype of the floating ``tensors``, at least float32."""
    dtype = torch.float32
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            dtype = torch.promote_types(dtype, tensor.dtype)
    return dtype


def _common(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Cast floating tensors to their promoted dtype (no fp32 floor: matmul dtype)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return tuple(t.to(dtype) for t in tensors)


def _scalar(value: Scalar, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a 0-dim tensor of ``dtype`` on ``like``'s device (graph kept)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f'expected a scalar, got a tensor of shape {tuple(value.shape)}')
        return value.to(device=like.device, dtype=dtype).reshape(())
    return torch.tensor(float(value), device=like.device, dtype=dtype)


def _check_pair(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.dim() != 2 or b.dim() != 2 or a.shape != b.shape:
        raise ValueError(f'{names} must both be (N, D) with the same shape, got '
                         f'{tuple(a.shape)} and {tuple(b.shape)}')


# ---------------------------------------------------------------- global sigmoid loss
def sigmoid_pair_loss_sum(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                          logit_scale: Scalar, logit_bias: Scalar,
                          negative_only: bool = False,
                          text_valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Sum ``-sum_i sum_j log sigmoid(l_ij * (exp(s) * x_i . y_j + b))`` (spec 3.2).

    Labels ``l_ij = +1`` on the diagonal (unless ``negative_only``) and ``-1`` elsewhere.
    Uses ``-log sigmoid(l z) = softplus(-l z)``; no label matrix is materialised.

    Args:
        image_embeds (Tensor): (B, D) L2-normalised image embeddings.
        text_embeds (Tensor): (T, D) L2-normalised text embeddings; ``T == B`` unless
            ``negative_only``.
        logit_scale (Tensor | float): Log scale ``s``.
        logit_bias (Tensor | float): Bias ``b``.
        negative_only (bool): Every pair is a negative (texts of another rank).
        text_valid (Tensor, optional): (T,) bool; False columns are dropped entirely
            (their negatives and, on the diagonal, the positive).

    Returns:
        Tensor: 0-dim sum in fp32 or wider.
    """
    if image_embeds.dim() != 2 or text_embeds.dim() != 2 or \
            image_embeds.shape[1] != text_embeds.shape[1]:
        raise ValueError(f'image_embeds and text_embeds must be (B, D) and (T, D), got '
                         f'{tuple(image_embeds.shape)} and {tuple(text_embeds.shape)}')
    if not negative_only and image_embeds.shape[0] != text_embeds.shape[0]:
        raise ValueError('positives need as many texts as images, got '
                         f'{image_embeds.shape[0]} images and {text_embeds.shape[0]} texts')
    if text_valid is not None and tuple(text_valid.shape) != (text_embeds.shape[0], ):
        raise ValueError(f'text_valid must be ({text_embeds.shape[0]},), got '
                         f'{tuple(text_valid.shape)}')
    dtype = compute_dtype(image_embeds, text_embeds)
    image, text = _common(image_embeds, text_embeds)
    scale = _scalar(logit_scale, image, dtype).exp()
    logits = (image @ text.t()).to(dtype) * scale + _scalar(logit_bias, image, dtype)
    if not negative_only:
        eye = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
        logits = torch.where(eye, -logits, logits)
    per_pair = F.softplus(logits)
    if text_valid is not None:
        per_pair = torch.where(text_valid.to(torch.bool)[None, :], per_pair, 0.0)
    return per_pair.sum()


def sigmoid_pair_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                      logit_scale: Scalar, logit_bias: Scalar, negative_only: bool = False,
                      text_valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """SigLIP pair loss ``-(1/B) sum_i sum_j log sigmoid(l_ij z_ij)`` (spec 3.2).

    ``z_ij = exp(logit_scale) * x_i . y_j + logit_bias``; labels +1 on the diagonal
    (unless ``negative_only``) and -1 elsewhere; normalised by the number of images B
    (not by the number of pairs), as the reference. See :func:`sigmoid_pair_loss_sum`
    for the arguments; embeddings must be L2-normalised by the caller.

    Returns:
        Tensor: 0-dim loss (fp32 or wider); a connected zero when B == 0.
    """
    total = sigmoid_pair_loss_sum(image_embeds, text_embeds, logit_scale, logit_bias,
                                  negative_only, text_valid)
    return total / max(image_embeds.shape[0], 1)


# ------------------------------------------------------------ region contrastive (FGV)
def _ce_rows_sum(queries: torch.Tensor, keys: torch.Tensor, scale: torch.Tensor,
                 offset: int) -> torch.Tensor:
    """Sum of CE(scale * q_i . K^T, target offset + i) over the rows of ``queries``."""
    logits = (queries @ keys.t()).to(scale.dtype) * scale
    target = torch.arange(queries.shape[0], device=queries.device) + offset
    return F.cross_entropy(logits, target, reduction='sum')


def region_contrastive_rows_sum(region_rows: torch.Tensor, text_rows: torch.Tensor,
                                region_all: torch.Tensor, text_all: torch.Tensor,
                                logit_scale: Scalar, offset: int = 0) -> torch.Tensor:
    """Sum over local rows of ``(CE_i2t + CE_t2i) / 2`` against the global columns.

    Args:
        region_rows, text_rows (Tensor): (n, D) local region / region-text embeddings.
        region_all, text_all (Tensor): (N, D) all of them, the local ones at
            ``offset:offset + n``.
        logit_scale (Tensor | float): Log scale.
        offset (int): Global index of the first local row.
    """
    _check_pair(region_rows, text_rows, 'region_rows and text_rows')
    _check_pair(region_all, text_all, 'region_all and text_all')
    if region_all.shape[0] == 0:
        return connected_zero(region_rows, text_rows, region_all, text_all, logit_scale)
    dtype = compute_dtype(region_rows, text_rows, region_all, text_all)
    rows_r, rows_t, all_r, all_t = _common(region_rows, text_rows, region_all, text_all)
    scale = _scalar(logit_scale, rows_r, dtype).exp()
    return 0.5 * (_ce_rows_sum(rows_r, all_t, scale, offset) +
                  _ce_rows_sum(rows_t, all_r, scale, offset))


def region_contrastive_loss(region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                            logit_scale: Scalar) -> torch.Tensor:
    """Region-text symmetric InfoNCE (L_FGV, spec 3.3).

    ``P = exp(logit_scale) * V T^T`` (N x N); loss ``(CE(P, I) + CE(P^T, I)) / 2`` with
    each CE averaged over the N boxes.

    Args:
        region_embeds (Tensor): (N, D) L2-normalised region features.
        text_embeds (Tensor): (N, D) L2-normalised region-caption embeddings.
        logit_scale (Tensor | float): Log scale (``ln 100`` at init in the reference).

    Returns:
        Tensor: 0-dim loss; a connected zero when N == 0.
    """
    total = region_contrastive_rows_sum(region_embeds, text_embeds, region_embeds,
                                        text_embeds, logit_scale)
    return total / max(region_embeds.shape[0], 1)


# ------------------------------------------------------------------------------ TIC
def tic_rows_sum(text_rows: torch.Tensor, text_all: torch.Tensor, offset: int = 0,
                 top_k: int = 10, duplicate_threshold: float = 0.95) -> torch.Tensor:
    """Sum over local rows of the TIC log-sum-exp term, against all N texts.

    ``k = min(top_k, N - 1)`` (N = ``len(text_all)``); with ``N <= 1`` (or ``top_k == 0``)
    there is no other text and the result is a connected zero. See :func:`tic_loss`.
    """
    if text_rows.dim() != 2 or text_all.dim() != 2 or text_rows.shape[1] != text_all.shape[1]:
        raise ValueError(f'text_rows and text_all must be (n, D) and (N, D), got '
                         f'{tuple(text_rows.shape)} and {tuple(text_all.shape)}')
    k = min(int(top_k), text_all.shape[0] - 1)
    if k <= 0:
        return connected_zero(text_rows, text_all)
    dtype = compute_dtype(text_rows, text_all)
    rows, cols = _common(text_rows, text_all)
    sims = (rows @ cols.t()).to(dtype)
    index = torch.arange(rows.shape[0], device=rows.device)
    self_mask = torch.zeros_like(sims, dtype=torch.bool)
    self_mask[index, index + offset] = True
    sims = torch.where(self_mask | (sims > duplicate_threshold), 0.0, sims)
    return torch.logsumexp(sims.topk(k, dim=1).values, dim=1).sum()


def tic_loss(text_embeds: torch.Tensor, top_k: int = 10,
             duplicate_threshold: float = 0.95) -> torch.Tensor:
    """Textual intra-modal contrastive loss (L_TIC, spec 3.4).

    ``S = T T^T``; the diagonal and every entry ``> duplicate_threshold`` are set to 0;
    ``V`` = the ``k`` largest entries per row; loss = ``mean_i log sum_k exp(V_ik)``.
    No temperature and no positives: it pushes each region caption away from its ``k``
    most similar *other* captions (zeros from the masking can be among the top-k).

    Small batches (the reference raises inside ``topk`` and silently drops the loss when
    N < 10): ``k = min(top_k, N - 1)``, so every other caption is used when there are
    fewer than ``top_k``; with ``N <= 1`` the loss is a connected zero.

    Args:
        text_embeds (Tensor): (N, D) L2-normalised region-caption embeddings.
        top_k (int): Hardest captions kept per row. Defaults to 10.
        duplicate_threshold (float): Similarities above it count as duplicates and are
            zeroed. Defaults to 0.95.

    Returns:
        Tensor: 0-dim loss.
    """
    total = tic_rows_sum(text_embeds, text_embeds, 0, top_k, duplicate_threshold)
    return total / max(text_embeds.shape[0], 1)


# -------------------------------------------------------------- hard negatives (FGT+CMR)
def check_hard_negative_shapes(region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                               num_texts: int = 11) -> None:
    """Raise ``ValueError`` unless region is (N, D) and text is (N, num_texts, D)."""
    ok = (region_embeds.dim() == 2 and text_embeds.dim() == 3
          and text_embeds.shape[0] == region_embeds.shape[0]
          and text_embeds.shape[1] == num_texts
          and text_embeds.shape[2] == region_embeds.shape[1])
    if not ok:
        raise ValueError(f'hard negatives need region_embeds (N, D) and text_embeds '
                         f'(N, {num_texts}, D) (1 positive + {num_texts - 1} negatives per '
                         f'box), got {tuple(region_embeds.shape)} and '
                         f'{tuple(text_embeds.shape)}')


def hard_negative_rows_sums(region_rows: torch.Tensor, text_rows: torch.Tensor,
                            region_all: torch.Tensor, text_all: torch.Tensor,
                            logit_scale: Scalar, threshold: Scalar,
                            offset: int = 0) -> Dict[str, torch.Tensor]:
    """Per-term sums of the hard-negative loss for local boxes against the global batch.

    Args:
        region_rows (Tensor): (n, D) local region features.
        text_rows (Tensor): (n, K, D) local texts, index 0 the positive.
        region_all (Tensor): (N, D) all region features (local at ``offset``).
        text_all (Tensor): (N, K, D) all texts.
        logit_scale (Tensor | float): Log scale of the hard-negative logits.
        threshold (Tensor | float): CMR margin tau (logit units), treated as a constant.
        offset (int): Global index of the first local box.

    Returns:
        dict[str, Tensor]: ``contrastive`` = sum_i (CE_i2t + CE_t2i) / 2, ``pair`` =
        sum_i CE_11way, ``cmr`` = sum_ij relu(tau + q_ij - p_i) (divide by N, N and
        N * (K - 1) for the means).
    """
    num_texts = text_rows.shape[1] if text_rows.dim() == 3 else -1
    check_hard_negative_shapes(region_rows, text_rows, num_texts)
    check_hard_negative_shapes(region_all, text_all, num_texts)
    if region_all.shape[0] == 0:
        zero = connected_zero(region_rows, text_rows, region_all, text_all, logit_scale)
        return dict(contrastive=zero, pair=zero, cmr=zero)
    dtype = compute_dtype(region_rows, text_rows, region_all, text_all)
    rows_r, rows_t, all_r, all_t = _common(region_rows, text_rows, region_all, text_all)
    scale = _scalar(logit_scale, rows_r, dtype).exp()
    tau = _scalar(threshold, rows_r, dtype).detach()
    # image -> [all positives || all negatives]; text (positive) -> all regions.
    columns = torch.cat([all_t[:, 0], all_t[:, 1:].flatten(0, 1)])
    contrastive = 0.5 * (_ce_rows_sum(rows_r, columns, scale, offset) +
                         _ce_rows_sum(rows_t[:, 0], all_r, scale, offset))
    pair_logits = torch.einsum('nd,nkd->nk', rows_r, rows_t).to(dtype) * scale
    target = pair_logits.new_zeros(pair_logits.shape[0], dtype=torch.long)
    pair = F.cross_entropy(pair_logits, target, reduction='sum')
    cmr = F.relu(tau + pair_logits[:, 1:] - pair_logits[:, :1]).sum()
    return dict(contrastive=contrastive, pair=pair, cmr=cmr)


def hard_negative_threshold_estimate(region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                                     logit_scale: Scalar) -> Optional[torch.Tensor]:
    """``tau = mean_i p_i - mean_ij q_ij`` (detached), ``p_i = s v_i . g_i``,
    ``q_ij = s v_i . n_ij``, ``s = exp(logit_scale)``; ``None`` when N == 0."""
    if region_embeds.shape[0] == 0:
        return None
    with torch.no_grad():
        dtype = compute_dtype(region_embeds, text_embeds)
        region, text = _common(region_embeds, text_embeds)
        logits = torch.einsum('nd,nkd->nk', region, text).to(dtype)
        logits = logits * _scalar(logit_scale, region, dtype).exp()
        return logits[:, 0].mean() - logits[:, 1:].mean()


def hard_negative_loss(region_embeds: torch.Tensor, text_embeds: torch.Tensor,
                       logit_scale: Scalar, threshold: Scalar,
                       weights: Sequence[float] = (0.6, 3.0, 0.4),
                       num_texts: int = 11) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Hard-negative loss L_FGT + L_CMR (spec 3.5) and this batch's CMR threshold.

    With ``s = exp(logit_scale)``, ``v_i`` the box features, ``t_i0 = g_i`` the positive
    and ``t_ij = n_ij`` (j >= 1) the negatives, ``p_i = s v_i.g_i``, ``q_ij = s v_i.n_ij``:

    * contrastive: ``(CE_i2t + CE_t2i) / 2``, CE_i2t over ``s v_i . [g_1..g_N, all n]``
      (target ``g_i``), CE_t2i over ``s g_i . [v_1..v_N]`` (target ``v_i``), means over N;
    * pair: 11-way CE over ``s v_i . t_ij`` with target 0, mean over N;
    * CMR: ``mean_ij relu(threshold + q_ij - p_i)`` over the N (K-1) negatives.

    ``loss = w0 * contrastive + w1 * pair + w2 * cmr``.

    Args:
        region_embeds (Tensor): (N, D) L2-normalised region features of hard boxes.
        text_embeds (Tensor): (N, num_texts, D) L2-normalised texts, index 0 positive.
        logit_scale (Tensor | float): Log scale (``ln 100`` at init in the reference).
        threshold (Tensor | float): The stored tau of the *previous* step (constant).
        weights (Sequence[float]): ``(contrastive, pair, cmr)``. Defaults to
            ``(0.6, 3.0, 0.4)``.
        num_texts (int): Texts per box; anything else raises. Defaults to 11.

    Returns:
        tuple[Tensor, Tensor | None]: The loss (connected zero when N == 0) and
        ``threshold_estimate`` = ``mean_i p_i - mean_ij q_ij`` of this batch, detached,
        unclamped (``None`` when N == 0).
    """
    check_hard_negative_shapes(region_embeds, text_embeds, num_texts)
    num = region_embeds.shape[0]
    if num == 0:
        return connected_zero(region_embeds, text_embeds, logit_scale), None
    sums = hard_negative_rows_sums(region_embeds, text_embeds, region_embeds, text_embeds,
                                   logit_scale, threshold)
    w_con, w_pair, w_cmr = weights
    loss = (w_con * sums['contrastive'] / num + w_pair * sums['pair'] / num +
            w_cmr * sums['cmr'] / (num * (num_texts - 1)))
    return loss, hard_negative_threshold_estimate(region_embeds, text_embeds, logit_scale)
