"""Plain ``nn.Module`` blocks shared by both FG-CLIP 2 towers (not registered).

* :class:`Attention`: multi-head attention with a fused ``qkv`` projection, a PyTorch SDPA
  path and an eager path (fp32 softmax), key-padding masks only (no causal mask).
* :class:`MLP`: ``fc1 -> GELU (tanh approximation by default) -> fc2``.
* :class:`EncoderLayer`: pre-LN block ``x + attn(ln1(x))`` then ``x + mlp(ln2(x))``.
* :class:`MAPHead`: SigLIP multi-head attention pooling. :meth:`MAPHead.forward` pools with
  the learned probe as the query (image embedding); :meth:`MAPHead.forward_dense` uses every
  token as a query (FG-CLIP 2 dense features, spec §1.4). In both, the residual is the
  attention output: ``a + mlp(ln(a))``.

Masks: ``key_mask`` is a bool tensor of shape (B, N), True for real tokens, or ``None``.
Padding tokens are never attended to; padding *query* rows are computed and ignored.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

ATTN_IMPLS = ('sdpa', 'eager')


def check_attn_impl(attn_impl: str) -> str:
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f'attn_impl={attn_impl!r} is not supported, expected one of '
                         f'{ATTN_IMPLS}')
    return attn_impl


def activation(name: str):
    """GELU variant by Hugging Face name (``gelu_pytorch_tanh`` or ``gelu``)."""
    approximate = {'gelu_pytorch_tanh': 'tanh', 'gelu': 'none'}.get(name)
    if approximate is None:
        raise ValueError(f'hidden_act={name!r} is not supported, expected '
                         '"gelu_pytorch_tanh" or "gelu"')
    return lambda x: F.gelu(x, approximate=approximate)


class Attention(nn.Module):
    """Multi-head attention with a fused input projection.

    ``qkv.weight`` stacks the query, key and value projections as rows ``[0:D], [D:2D],
    [2D:3D]`` (the packing of ``nn.MultiheadAttention.in_proj_weight``). Scores are scaled
    by ``head_dim ** -0.5``; there is no dropout.

    Args:
        embed_dims (int): Width D.
        num_heads (int): Number of heads; must divide D.
        attn_impl (str): ``'sdpa'`` (``F.scaled_dot_product_attention``) or ``'eager'``
            (explicit matmuls, softmax in fp32). Defaults to ``'sdpa'``.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_impl: str = 'sdpa') -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.attn_impl = check_attn_impl(attn_impl)
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def reset_parameters(self) -> None:
        """Xavier-uniform per projection (each D x D block separately), zero biases."""
        with torch.no_grad():
            for block in self.qkv.weight.view(3, self.embed_dims, self.embed_dims):
                nn.init.xavier_uniform_(block)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.qkv.bias)
        nn.init.zeros_(self.proj.bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        # (B, L, D) -> (B, H, L, hd)
        return x.unflatten(-1, (self.num_heads, self.head_dims)).transpose(1, 2)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                key_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """q (B, H, Q, hd), k/v (B, H, N, hd), key_mask (B, N) bool -> (B, Q, D)."""
        mask = None if key_mask is None else key_mask[:, None, None, :]
        if self.attn_impl == 'sdpa':
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) * self.head_dims**-0.5
            if mask is not None:
                scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            out = torch.matmul(weights, v)
        return out.transpose(1, 2).flatten(2)

    def forward(self,
                x: torch.Tensor,
                key_mask: Optional[torch.Tensor] = None,
                packer: Optional['TokenPacker'] = None) -> torch.Tensor:
        """Self-attention.

        Args:
            x (Tensor): Tokens of shape (B, N, D), or (T, D) real tokens when ``packer``.
            key_mask (Tensor, optional): Bool (B, N), True for tokens that may be attended.
            packer (TokenPacker, optional): Packing of the real tokens (see
                :class:`TokenPacker`); the projections then skip the padding rows.

        Returns:
            Tensor: Same layout as ``x``.
        """
        qkv = self.qkv(x)
        if packer is not None:
            qkv = packer.unpack(qkv)
        q, k, v = qkv.chunk(3, dim=-1)
        out = self._attend(self._heads(q), self._heads(k), self._heads(v), key_mask)
        return self.proj(out if packer is None else packer.pack(out))

    def cross(self,
              query: torch.Tensor,
              x: torch.Tensor,
              key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attention of ``query`` (B, Q, D) over ``x`` (B, N, D); returns (B, Q, D)."""
        w_q, w_kv = self.qkv.weight.split([self.embed_dims, 2 * self.embed_dims])
        b_q, b_kv = self.qkv.bias.split([self.embed_dims, 2 * self.embed_dims])
        q = F.linear(query, w_q, b_q)
        k, v = F.linear(x, w_kv, b_kv).chunk(2, dim=-1)
        return self.proj(self._attend(self._heads(q), self._heads(k), self._heads(v), key_mask))


class MLP(nn.Module):
    """``fc2(act(fc1(x)))`` with fc1: D -> ``mlp_dims`` and fc2: ``mlp_dims`` -> D."""

    def __init__(self,
                 embed_dims: int,
                 mlp_dims: int,
                 hidden_act: str = 'gelu_pytorch_tanh') -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, mlp_dims)
        self.fc2 = nn.Linear(mlp_dims, embed_dims)
        self.hidden_act = hidden_act
        self.act = activation(hidden_act)

    def reset_parameters(self) -> None:
        for fc in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(fc.weight)
            nn.init.normal_(fc.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class EncoderLayer(nn.Module):
    """Pre-LN transformer encoder layer (both towers; LayerNorm eps from the arch)."""

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_dims: int,
                 layer_norm_eps: float = 1e-6,
                 hidden_act: str = 'gelu_pytorch_tanh',
                 attn_impl: str = 'sdpa') -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=layer_norm_eps)
        self.attn = Attention(embed_dims, num_heads, attn_impl)
        self.ln2 = nn.LayerNorm(embed_dims, eps=layer_norm_eps)
        self.mlp = MLP(embed_dims, mlp_dims, hidden_act)

    def reset_parameters(self) -> None:
        self.attn.reset_parameters()
        self.mlp.reset_parameters()

    def forward(self,
                x: torch.Tensor,
                key_mask: Optional[torch.Tensor] = None,
                packer: Optional['TokenPacker'] = None) -> torch.Tensor:
        """x (B, N, D) (or packed (T, D) with ``packer``), key_mask (B, N) bool or None."""
        x = x + self.attn(self.ln1(x), key_mask, packer)
        return x + self.mlp(self.ln2(x))


class TokenPacker:
    """Gather the real tokens of a padded batch into one (T, D) matrix and back.

    Everything in a layer except the attention itself is row-wise, so it can run on the T
    real tokens only; the attention unpacks q, k, v to (B, N, ...) (padding rows zero,
    masked as keys) and packs its output again. This saves the work of the padding rows,
    which NaFlex batches padded to a patch budget have plenty of. Valid rows are the same
    as without packing (up to GEMM rounding); padding rows come out as zeros.

    Args:
        key_mask (Tensor): Bool (B, N), True for real tokens.
    """

    def __init__(self, key_mask: torch.Tensor) -> None:
        self.shape = tuple(key_mask.shape)
        self.index = key_mask.flatten().nonzero()[:, 0]

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (T, C)."""
        return x.flatten(0, 1).index_select(0, self.index)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        """(T, C) -> (B, N, C) with zero padding rows."""
        out = x.new_zeros(self.shape[0] * self.shape[1], x.shape[-1])
        return out.index_copy(0, self.index, x).view(*self.shape, x.shape[-1])


def run_layers(layers: nn.ModuleList,
               x: torch.Tensor,
               key_mask: Optional[torch.Tensor],
               with_cp: bool = False,
               out_indices: tuple = (),
               pack_min_padding: Optional[float] = None) -> tuple:
    """Run ``layers`` in order, optionally with activation checkpointing and token packing.

    Args:
        layers (nn.ModuleList): :class:`EncoderLayer` modules.
        x (Tensor): Input tokens (B, N, D).
        key_mask (Tensor, optional): Bool (B, N).
        with_cp (bool): Recompute each layer in backward (only when grads are needed).
        out_indices (tuple[int]): Non-negative layer indices whose outputs are collected.
        pack_min_padding (float, optional): Use a :class:`TokenPacker` when at least this
            fraction of the tokens is padding (one host read of the mask). None: never.

    Returns:
        tuple: ``(last output, [outputs at out_indices in order])``, all (B, N, D); with
        packing, padding rows are zeros.
    """
    packer = None
    if key_mask is not None and pack_min_padding is not None:
        packer = TokenPacker(key_mask)
        if packer.index.numel() > (1 - pack_min_padding) * key_mask.numel():
            packer = None
        else:
            x = packer.pack(x)
    collected = []
    use_cp = with_cp and torch.is_grad_enabled() and x.requires_grad
    for i, layer in enumerate(layers):
        if use_cp:
            x = checkpoint(layer, x, key_mask, packer, use_reentrant=False)
        else:
            x = layer(x, key_mask, packer)
        if i in out_indices:
            collected.append(x if packer is None else packer.unpack(x))
    return (x if packer is None else packer.unpack(x)), collected


class MAPHead(nn.Module):
    """Multi-head attention pooling (SigLIP ``head``), batched.

    Args:
        embed_dims (int): Width D.
        num_heads (int): Attention heads.
        mlp_dims (int): MLP hidden width.
        layer_norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        hidden_act (str): MLP activation. Defaults to ``'gelu_pytorch_tanh'``.
        attn_impl (str): ``'sdpa'`` or ``'eager'``. Defaults to ``'sdpa'``.
        trainable_probe (bool): If False the probe is a persistent *buffer* instead of a
            parameter. The dense head never uses its probe (spec §1.4); keeping it as a buffer
            preserves the official checkpoint key without leaving a parameter that never
            receives a gradient (which DDP with ``find_unused_parameters=False`` rejects).
            Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_dims: int,
                 layer_norm_eps: float = 1e-6,
                 hidden_act: str = 'gelu_pytorch_tanh',
                 attn_impl: str = 'sdpa',
                 trainable_probe: bool = True) -> None:
        super().__init__()
        probe = torch.zeros(1, 1, embed_dims)
        if trainable_probe:
            self.probe = nn.Parameter(probe)
        else:
            self.register_buffer('probe', probe)
        self.attn = Attention(embed_dims, num_heads, attn_impl)
        self.ln = nn.LayerNorm(embed_dims, eps=layer_norm_eps)
        self.mlp = MLP(embed_dims, mlp_dims, hidden_act)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = math.sqrt(6.0 / (2 * self.probe.shape[-1]))  # xavier on a (1, D) probe
        with torch.no_grad():
            self.probe.uniform_(-bound, bound)
        self.attn.reset_parameters()
        self.mlp.reset_parameters()

    def _finish(self, a: torch.Tensor) -> torch.Tensor:
        return a + self.mlp(self.ln(a))

    def forward(self,
                x: torch.Tensor,
                key_mask: Optional[torch.Tensor] = None,
                dense: bool = False) -> torch.Tensor:
        """Pool with the probe as the query (``dense=True``: :meth:`forward_dense`, through
        ``__call__``, so an FSDP unit wrapping this head gathers its weights).

        Args:
            x (Tensor): Post-LN tokens (B, N, D).
            key_mask (Tensor, optional): Bool (B, N), True for real tokens.
            dense (bool): Return the dense features instead. Defaults to False.

        Returns:
            Tensor: Pooled embeddings (B, D), or dense features (B, N, D).
        """
        if dense:
            return self.forward_dense(x, key_mask)
        probe = self.probe.to(x.dtype).expand(x.shape[0], -1, -1)
        return self._finish(self.attn.cross(probe, x, key_mask))[:, 0]

    def forward_dense(self,
                      x: torch.Tensor,
                      key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Every token queries all (non-padding) tokens; the probe is not used.

        Args:
            x (Tensor): Post-LN tokens (B, N, D).
            key_mask (Tensor, optional): Bool (B, N), True for real tokens.

        Returns:
            Tensor: Dense features (B, N, D); rows of padding tokens are meaningless.
        """
        return self._finish(self.attn(x, key_mask))
