"""Position-embedding helpers.

* :func:`resize_naflex_pos_embed`: the SigLIP 2 NaFlex per-image resize of the square
  position table to each image's (h, w) patch grid (bilinear, antialias, align_corners
  False, in fp32), batched: every *distinct* shape of the batch is interpolated once.
* :func:`resize_pos_grid`: the same resize for a single target grid (checkpoint loading).
* :func:`stretch_text_pos_embed`: LongCLIP "knowledge-preserved stretching" of the 64-row
  text table into the 196-row long table (spec §1.3).
"""
import torch
import torch.nn.functional as F


def resize_pos_grid(pos_embed: torch.Tensor, size: tuple) -> torch.Tensor:
    """Resize a square position table to one grid.

    Args:
        pos_embed (Tensor): Table of shape (P, D) with P a square (row-major grid).
        size (tuple[int, int]): Target (h, w).

    Returns:
        Tensor: Shape (h * w, D), row-major, in the dtype of ``pos_embed``. The interpolation
        runs in fp32 (antialias is not implemented for bf16/fp16 on CPU).
    """
    num, dims = pos_embed.shape
    side = int(round(num**0.5))
    if side * side != num:
        raise ValueError(f'position table with {num} rows is not a square grid')
    grid = pos_embed.float().reshape(1, side, side, dims).permute(0, 3, 1, 2)
    out = F.interpolate(
        grid,
        size=tuple(int(s) for s in size),
        mode='bilinear',
        align_corners=False,
        antialias=True)
    return out[0].flatten(1).transpose(0, 1).to(pos_embed.dtype)


def unique_shapes(spatial_shapes: torch.Tensor) -> tuple:
    """Distinct (h, w) of a batch: ``(list of [h, w] on the host, inverse index (B,))``.

    This is the only host read of the NaFlex path (a few ints per batch).
    """
    if spatial_shapes.ndim != 2 or spatial_shapes.shape[1] != 2:
        raise ValueError(f'spatial_shapes must have shape (B, 2), got '
                         f'{tuple(spatial_shapes.shape)}')
    uniq, inverse = torch.unique(spatial_shapes, dim=0, return_inverse=True)
    return uniq.tolist(), inverse


def resize_naflex_pos_embed(pos_embed: torch.Tensor,
                            spatial_shapes: torch.Tensor,
                            num_tokens: int,
                            unique: tuple = None) -> torch.Tensor:
    """Per-image position embeddings for a NaFlex batch.

    Images are grouped by (h, w) with ``torch.unique`` so that each distinct shape is
    interpolated once; the per-shape tables are gathered back to the batch with the inverse
    index (no Python loop over the batch). Only the unique shapes are read on the host.

    Args:
        pos_embed (Tensor): Learned table (P, D), P = side * side.
        spatial_shapes (Tensor): Long (B, 2), the (h, w) patch grid of every image.
        num_tokens (int): Padded sequence length N (h * w <= N for every image).
        unique (tuple, optional): The result of :func:`unique_shapes` if already computed.

    Returns:
        Tensor: Shape (B, N, D). Rows ``[0, h*w)`` of image b hold its resized table in
        row-major order; the padding rows hold zeros (they are masked out everywhere).
    """
    shapes, inverse = unique if unique is not None else unique_shapes(spatial_shapes)
    for h, w in shapes:
        if h < 1 or w < 1 or h * w > num_tokens:
            raise ValueError(f'spatial shape ({h}, {w}) does not fit {num_tokens} tokens')
    tables = pos_embed.new_zeros(len(shapes), num_tokens, pos_embed.shape[1])
    for i, (h, w) in enumerate(shapes):  # one interpolation per distinct shape
        tables[i, :h * w] = resize_pos_grid(pos_embed, (h, w))
    return tables[inverse.to(tables.device)]


def stretch_text_pos_embed(pos_embed: torch.Tensor,
                           keep_len: int = 20,
                           new_len: int = 196) -> torch.Tensor:
    """LongCLIP stretch of a text position table (spec §1.3, FG-CLIP 2 ``--from_siglip2``).

    With L old rows and k = ``keep_len`` (the new length must be 4L - 3k, 196 for 64/20):

    * ``new[i] = old[i]`` for i < k;
    * ``new[k + 4i + r] = (1 - r/4) old[k+i] + (r/4) old[k+i+1]`` for i in [0, L-k-2],
      r in 0..3;
    * ``new[4L - 3k - 4 + r] = old[L-1] + (r/4) (old[L-1] - old[L-2])`` for r in 0..3.

    Args:
        pos_embed (Tensor): Old table (L, D).
        keep_len (int): Rows kept as is. Defaults to 20.
        new_len (int): Must equal 4L - 3k. Defaults to 196.

    Returns:
        Tensor: New table (new_len, D), same dtype/device, no autograd history.
    """
    old = pos_embed.detach()
    length = old.shape[0]
    if not 0 <= keep_len <= length - 2 or new_len != 4 * length - 3 * keep_len:
        raise ValueError(f'cannot stretch {length} rows keeping {keep_len} into {new_len}: '
                         f'need 0 <= keep_len <= {length - 2} and new_len == 4*{length} - '
                         f'3*keep_len = {4 * length - 3 * keep_len}')
    frac = torch.arange(4, dtype=old.dtype, device=old.device).div(4)[:, None]  # (4, 1)
    lo, hi = old[keep_len:length - 1], old[keep_len + 1:length]  # (L-k-1, D)
    middle = (1 - frac)[None] * lo[:, None] + frac[None] * hi[:, None]  # (L-k-1, 4, D)
    tail = old[-1][None] + frac * (old[-1] - old[-2])[None]  # (4, D)
    return torch.cat([old[:keep_len], middle.flatten(0, 1), tail], dim=0)
