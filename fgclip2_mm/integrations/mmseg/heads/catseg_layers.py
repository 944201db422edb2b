"""Building blocks of :class:`FGCLIP2CATSegHead`, CAT-Seg's aggregator (plain modules).

Written from CAT-Seg's ``cat_seg/modeling/transformer/model.py`` (cvlab-kaist/CAT-Seg, HEAD
6d3a188; line numbers below refer to that file):

- :class:`GuidedWindowBlock`: two Swin blocks (window ``w``, then shifted by ``w // 2``)
  over each class's cost map; the appearance guidance is concatenated to the normalised
  tokens and enters the queries and keys only, values see the cost embedding
  (``WindowAttention`` l.51-114, ``SwinTransformerBlock`` l.117-225,
  ``SwinTransformerBlockWrapper`` l.228-253). Unlike CAT-Seg's fixed 24 x 24 grid, the
  NaFlex grid may have any size: the maps are padded to whole windows and padded keys are
  masked (with no padding this is CAT-Seg's computation);
- :class:`ClassAggregationLayer`: average pooling, class tokens padded to ``pad_len`` with
  learned tokens, linear attention across classes guided by the class texts, MLP x4, bilinear
  upsampling and a residual (``ClassTransformerLayer`` l.357-424, ``LinearAttention``
  l.260-286, ``AttentionLayer`` l.323-354);
- :class:`UpBlock`: x2 transposed convolution, concatenation of the guidance, two
  conv-GroupNorm-ReLU (``Up`` / ``DoubleConv`` l.520-555).

Shapes: B images, T classes, C channels, (H, W) the patch grid.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def _gn_groups(channels: int) -> int:
    """CAT-Seg's ``GroupNorm(channels // 16, channels)``, at least one group."""
    return max(channels // 16, 1)


def _region_mask(hp: int, wp: int, window: int, shift: int,
                 valid: torch.Tensor) -> Optional[torch.Tensor]:
    """Additive attention mask (nW, w*w, w*w) of the shifted / padded window partition:
    -100 between tokens of different shift regions (Swin's mask) and towards padded keys.
    ``valid`` is the (hp, wp) bool map of real tokens in the (shifted) grid."""
    if shift == 0 and bool(valid.all()):
        return None
    regions = torch.zeros(hp, wp, device=valid.device)
    if shift > 0:
        count = 0
        for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                regions[hs, ws] = count
                count += 1
    ids = _partition(regions[None, :, :, None], window).flatten(1)  # nW, w*w
    keys = _partition(valid[None, :, :, None].float(), window).flatten(1)
    mask = (ids[:, None, :] != ids[:, :, None]) | (keys[:, None, :] == 0)
    return mask.float() * -100.0


def _partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(N, H, W, C) -> (N * nW, w, w, C)."""
    n, h, w, c = x.shape
    x = x.view(n, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c)


def _reverse(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """(N * nW, w, w, C) -> (N, H, W, C)."""
    c = windows.shape[-1]
    n = windows.shape[0] // ((h // window) * (w // window))
    x = windows.view(n, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)


class GuidedWindowAttention(nn.Module):
    """Window self-attention whose queries and keys also see the guidance channels."""

    def __init__(self, dims: int, guidance_dims: int, num_heads: int) -> None:
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'dims={dims} is not divisible by num_heads={num_heads}')
        self.dims = dims
        self.num_heads = num_heads
        self.scale = (dims // num_heads)**-0.5
        self.q = nn.Linear(dims + guidance_dims, dims)
        self.k = nn.Linear(dims + guidance_dims, dims)
        self.v = nn.Linear(dims, dims)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        """x (N * nW, L, C + Cg), mask (nW, L, L) or None -> (N * nW, L, C)."""
        n, length, _ = x.shape
        heads = self.num_heads
        q = self.q(x).view(n, length, heads, -1).transpose(1, 2) * self.scale
        k = self.k(x).view(n, length, heads, -1).transpose(1, 2)
        v = self.v(x[..., :self.dims]).view(n, length, heads, -1).transpose(1, 2)
        attn = q @ k.transpose(-2, -1)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.view(n // windows, windows, heads, length, length) + mask[None, :, None]
            attn = attn.view(n, heads, length, length)
        out = attn.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, length, self.dims))


class SwinBlock(nn.Module):
    """One (shifted) window block with appearance guidance (pre-norm, MLP ratio 4)."""

    def __init__(self, dims: int, guidance_dims: int, num_heads: int, window: int,
                 shifted: bool) -> None:
        super().__init__()
        self.window = window
        self.shifted = shifted
        self.norm1 = nn.LayerNorm(dims)
        self.attn = GuidedWindowAttention(dims, guidance_dims, num_heads)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = nn.Sequential(nn.Linear(dims, dims * 4), nn.GELU(), nn.Linear(dims * 4, dims))

    def forward(self, x: torch.Tensor, guidance: Optional[torch.Tensor]) -> torch.Tensor:
        """x (N, H, W, C), guidance (N, H, W, Cg) or None -> (N, H, W, C)."""
        n, h, w, c = x.shape
        # CAT-Seg l.146-149: a grid not larger than the window is one window, unshifted.
        window = min(self.window, h, w) if min(h, w) <= self.window else self.window
        shift = window // 2 if self.shifted and min(h, w) > self.window else 0
        y = self.norm1(x)
        if guidance is not None:
            y = torch.cat([y, guidance], dim=-1)
        hp, wp = -(-h // window) * window, -(-w // window) * window
        valid = torch.zeros(hp, wp, dtype=torch.bool, device=x.device)
        valid[:h, :w] = True
        if (hp, wp) != (h, w):
            y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        if shift:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
            valid = torch.roll(valid, shifts=(-shift, -shift), dims=(0, 1))
        mask = _region_mask(hp, wp, window, shift, valid)
        windows = _partition(y, window).flatten(1, 2)
        out = self.attn(windows, mask).view(-1, window, window, c)
        out = _reverse(out, window, hp, wp)
        if shift:
            out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
        x = x + out[:, :h, :w]
        return x + self.mlp(self.norm2(x))


class GuidedWindowBlock(nn.Module):
    """CAT-Seg's spatial aggregation: a window block and a shifted one per class map.

    Args:
        dims (int): Cost-embedding channels C.
        guidance_dims (int): Appearance-guidance channels (0 for none).
        num_heads (int): Attention heads.
        window (int): Window size (CAT-Seg: 12).
    """

    def __init__(self, dims: int, guidance_dims: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.block1 = SwinBlock(dims, guidance_dims, num_heads, window, shifted=False)
        self.block2 = SwinBlock(dims, guidance_dims, num_heads, window, shifted=True)
        self.guidance_norm = nn.LayerNorm(guidance_dims) if guidance_dims > 0 else None

    def forward(self, x: torch.Tensor, guidance: Optional[torch.Tensor]) -> torch.Tensor:
        """x (B, C, T, H, W), guidance (B, Cg, H, W) or None -> (B, C, T, H, W)."""
        b, c, t, h, w = x.shape
        tokens = x.permute(0, 2, 3, 4, 1).reshape(b * t, h, w, c)
        if guidance is not None:
            guidance = self.guidance_norm(guidance.permute(0, 2, 3, 1))
            guidance = guidance.repeat_interleave(t, dim=0)
        tokens = self.block2(self.block1(tokens, guidance), guidance)
        return tokens.view(b, t, h, w, c).permute(0, 4, 1, 2, 3)


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     eps: float = 1e-6) -> torch.Tensor:
    """``elu + 1`` kernel attention (N, L, heads, d) -> (N, L, heads, d) (CAT-Seg l.266-286,
    including its division of the values by their length, undone after)."""
    q, k = F.elu(q) + 1, F.elu(k) + 1
    length = v.shape[1]
    kv = torch.einsum('nshd,nshv->nhdv', k, v / length)
    norm = 1 / (torch.einsum('nlhd,nhd->nlh', q, k.sum(dim=1)) + eps)
    return torch.einsum('nlhd,nhdv,nlh->nlhv', q, kv, norm) * length


class ClassAggregationLayer(nn.Module):
    """CAT-Seg's class aggregation over T classes (any T; padded to ``pad_len``).

    Args:
        dims (int): Channels C.
        guidance_dims (int): Text-guidance channels (0 for none).
        num_heads (int): Attention heads.
        pad_len (int): Class tokens are padded with a learned token up to this count
            (CAT-Seg: 256; 0 disables).
    """

    def __init__(self, dims: int, guidance_dims: int, num_heads: int, pad_len: int) -> None:
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'dims={dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.q = nn.Linear(dims + guidance_dims, dims)
        self.k = nn.Linear(dims + guidance_dims, dims)
        self.v = nn.Linear(dims, dims)
        self.mlp = nn.Sequential(nn.Linear(dims, dims * 4), nn.ReLU(), nn.Linear(dims * 4, dims))
        self.norm1 = nn.LayerNorm(dims)
        self.norm2 = nn.LayerNorm(dims)
        self.pad_len = int(pad_len)
        self.padding_tokens = nn.Parameter(torch.zeros(dims)) if pad_len > 0 else None
        self.padding_guidance = nn.Parameter(torch.zeros(guidance_dims)) \
            if pad_len > 0 and guidance_dims > 0 else None

    def forward(self, x: torch.Tensor, guidance: Optional[torch.Tensor],
                pooling: Tuple[int, int]) -> torch.Tensor:
        """x (B, C, T, H, W), guidance (B, T, Cg) or None, pooling kernel (ph, pw) ->
        (B, C, T, H, W)."""
        b, c, t, h, w = x.shape
        pooled = x.transpose(1, 2).reshape(b * t, c, h, w)
        if tuple(pooling) != (1, 1):
            pooled = F.avg_pool2d(pooled, pooling)
        hp, wp = pooled.shape[-2:]
        seq = pooled.view(b, t, c, hp, wp).permute(0, 3, 4, 1, 2).reshape(b * hp * wp, t, c)
        pad = self.pad_len - t if self.padding_tokens is not None and t < self.pad_len else 0
        if pad:
            seq = torch.cat([seq, self.padding_tokens.expand(seq.shape[0], pad, c)], dim=1)
        if guidance is not None:
            if pad and self.padding_guidance is not None:
                guidance = torch.cat(
                    [guidance, self.padding_guidance.expand(b, pad, guidance.shape[-1])], dim=1)
            guidance = guidance.repeat_interleave(hp * wp, dim=0)
        seq = seq + self._attend(self.norm1(seq), guidance)
        seq = seq + self.mlp(self.norm2(seq))
        seq = seq[:, :t]
        out = seq.view(b, hp, wp, t, c).permute(0, 3, 4, 1, 2).reshape(b * t, c, hp, wp)
        out = F.interpolate(out, size=(h, w), mode='bilinear', align_corners=True)
        return x + out.view(b, t, c, h, w).transpose(1, 2)

    def _attend(self, x: torch.Tensor, guidance: Optional[torch.Tensor]) -> torch.Tensor:
        qk_in = x if guidance is None else torch.cat([x, guidance], dim=-1)
        n, length, c = x.shape
        heads = self.num_heads
        q = self.q(qk_in).view(n, length, heads, c // heads)
        k = self.k(qk_in).view(n, length, heads, c // heads)
        v = self.v(x).view(n, length, heads, c // heads)
        return linear_attention(q, k, v).reshape(n, length, c)


class UpBlock(nn.Module):
    """x2 transposed convolution to ``in - guidance`` channels, concatenated guidance, two
    3x3 conv + GroupNorm + ReLU (CAT-Seg's ``Up``)."""

    def __init__(self, in_dims: int, out_dims: int, guidance_dims: int) -> None:
        super().__init__()
        if guidance_dims >= in_dims:
            raise ValueError(f'decoder guidance ({guidance_dims}) must be narrower than the '
                             f'stage input ({in_dims})')
        self.up = nn.ConvTranspose2d(in_dims, in_dims - guidance_dims, 2, stride=2)
        self.conv = nn.Sequential(
            nn.Conv2d(in_dims, out_dims, 3, padding=1, bias=False),
            nn.GroupNorm(_gn_groups(out_dims), out_dims), nn.ReLU(inplace=True),
            nn.Conv2d(out_dims, out_dims, 3, padding=1, bias=False),
            nn.GroupNorm(_gn_groups(out_dims), out_dims), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        """x (B*T, Cin, h, w), guidance (B, Cg, 2h, 2w) -> (B*T, Cout, 2h, 2w)."""
        x = self.up(x)
        guidance = guidance.repeat_interleave(x.shape[0] // guidance.shape[0], dim=0)
        return self.conv(torch.cat([x, guidance], dim=1))
