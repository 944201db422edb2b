"""Building blocks of the cost-aggregation head (plain ``nn.Module``s, not registered).

Shapes: B images, K classes, C cost-embedding channels, (h, w) the patch grid. The cost
volume is processed "per class" as a batch of B*K maps, and "per pixel" as B*h*w sequences
of K class tokens.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _groups(channels: int, wanted: int = 8) -> int:
    groups = min(wanted, channels)
    while channels % groups:
        groups -= 1
    return groups


def repeat_per_class(guidance: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, C, h, w) -> (B*K, C, h, w), image-major like the cost maps."""
    return guidance.repeat_interleave(num_classes, dim=0)


class SpatialAggregation(nn.Module):
    """Residual 3x3 convolution block over each class's cost map, guided by image features
    (concatenated before the first convolution), as CAT-Seg's spatial aggregation does with
    Swin blocks.

    Args:
        dims (int): Cost-embedding channels C.
        guidance_dims (int): Image-guidance channels (0 for none).
    """

    def __init__(self, dims: int, guidance_dims: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dims + guidance_dims, dims, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(dims), dims)
        self.conv2 = nn.Conv2d(dims, dims, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(dims), dims)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor, num_classes: int) -> torch.Tensor:
        """x (B*K, C, h, w), guidance (B, Cg, h, w) or None -> (B*K, C, h, w)."""
        inp = x if guidance is None else torch.cat([x, repeat_per_class(guidance, num_classes)],
                                                   dim=1)
        y = F.gelu(self.norm1(self.conv1(inp)))
        return F.gelu(x + self.norm2(self.conv2(y)))


class ClassAggregation(nn.Module):
    """Linear attention across the K classes at every pixel, guided by the class texts.

    No positional encoding over classes, so the block is permutation-equivariant and works
    for any K (the vocabulary may change at test time). Queries and keys see the cost
    embedding concatenated with a projection of the class text embedding (CAT-Seg's text
    guidance); attention is the linear ``elu + 1`` kernel (O(K) memory, K up to 847+).

    Args:
        dims (int): Channels C.
        text_dims (int): Text-guidance channels.
        num_heads (int): Attention heads. Defaults to 4.
        mlp_ratio (int): Hidden size of the MLP over C. Defaults to 2.
    """

    def __init__(self, dims: int, text_dims: int, num_heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'dims={dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dims)
        self.q = nn.Linear(dims + text_dims, dims)
        self.k = nn.Linear(dims + text_dims, dims)
        self.v = nn.Linear(dims, dims)
        self.proj = nn.Linear(dims, dims)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = nn.Sequential(
            nn.Linear(dims, dims * mlp_ratio), nn.GELU(), nn.Linear(dims * mlp_ratio, dims))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """x (N, K, C) with N = B*h*w, text (K, Ct) -> (N, K, C)."""
        n, k, c = x.shape
        xn = self.norm1(x)
        qk_in = torch.cat([xn, text.unsqueeze(0).expand(n, -1, -1)], dim=-1)
        heads = self.num_heads
        q = F.elu(self.q(qk_in)).add(1).view(n, k, heads, c // heads)
        key = F.elu(self.k(qk_in)).add(1).view(n, k, heads, c // heads)
        v = self.v(xn).view(n, k, heads, c // heads)
        kv = torch.einsum('nkhd,nkhe->nhde', key, v)
        norm = 1.0 / (torch.einsum('nkhd,nhd->nkh', q, key.sum(1)) + 1e-6)
        out = torch.einsum('nkhd,nhde,nkh->nkhe', q, kv, norm).reshape(n, k, c)
        x = x + self.proj(out)
        return x + self.mlp(self.norm2(x))


class GuidedUpsample(nn.Module):
    """x2 bilinear upsampling of the per-class maps, fused with higher-resolution guidance
    from an earlier backbone layer (CAT-Seg's upsampling decoder).

    Args:
        in_dims (int): Input channels.
        guidance_dims (int): Guidance channels at the output resolution.
        out_dims (int): Output channels.
    """

    def __init__(self, in_dims: int, guidance_dims: int, out_dims: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_dims + guidance_dims, out_dims, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(out_dims), out_dims)
        self.conv2 = nn.Conv2d(out_dims, out_dims, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(out_dims), out_dims)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor, num_classes: int) -> torch.Tensor:
        """x (B*K, Cin, h, w), guidance (B, Cg, 2h, 2w) -> (B*K, Cout, 2h, 2w)."""
        x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        x = torch.cat([x, repeat_per_class(guidance, num_classes)], dim=1)
        x = F.gelu(self.norm1(self.conv1(x)))
        return F.gelu(self.norm2(self.conv2(x)))
