"""FG-CLIP 2 / SigLIP 2 NaFlex vision transformer."""
import copy
from typing import Optional, Sequence, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from fgclip2_mm.registry import MODELS
from ..utils.arch_zoo import vision_arch
from ..utils.pos_embed import resize_naflex_pos_embed, resize_pos_grid, unique_shapes
from .layers import EncoderLayer, MAPHead, check_attn_impl, run_layers

OUT_TYPES = ('pooled', 'dense', 'raw', 'featmap')
PACK_MIN_PADDING = 0.1  # pack real tokens when >= 10% of the batch is padding


@MODELS.register_module()
class FGCLIP2VisionTransformer(BaseModule):
    """NaFlex ViT of FG-CLIP 2 (SigLIP 2 vision tower plus the dense feature head).

    Pipeline (spec §1.2, §1.4): ``patch_embed`` (Linear over pre-patchified pixels) + the
    position table resized per image to its (h, w) grid -> pre-LN encoder layers with a
    key-padding mask -> ``ln_post`` -> ``head`` (MAP pooling, the image embedding) or
    ``dense_head`` (same shape as ``head``, own weights, every token as query).

    Args:
        arch (str | dict): ``'base'``, ``'large'``, ``'so400m'``, ``'tiny'`` or a vision arch
            dict (see :func:`fgclip2_mm.models.utils.arch_zoo.vision_arch`). Defaults to
            ``'base'``.
        out_type (str): What :meth:`forward` returns, one of:

            - ``'pooled'``: ``(embeds,)``, MAP-head image embeddings (B, D);
            - ``'dense'``: ``(dense,)``, dense features (B, N, D) (spec §1.4);
            - ``'raw'``: token maps (B, N, D) of every layer in ``out_indices``;
            - ``'featmap'``: the same reshaped to (B, D, h, w); every image of the batch
              must have the same (h, w).

            Defaults to ``'pooled'``.
        out_indices (int | Sequence[int]): Layers whose outputs are returned for ``'raw'``
            and ``'featmap'`` (negative values count from the end). The last layer's output
            is post-LN, earlier ones are raw residual streams. ``'pooled'`` and ``'dense'``
            need the last layer only. The caller's sequence is never modified. Defaults to -1.
        frozen (bool): Freeze the whole module (eval mode, no grads), kept in ``train()``.
            Defaults to False.
        frozen_stages (int): Freeze ``patch_embed`` + ``pos_embed`` (0) and the first
            ``frozen_stages`` layers; ``num_layers`` also freezes ``ln_post``. -1 freezes
            nothing. Defaults to -1.
        with_cp (bool): Gradient checkpointing per encoder layer. Defaults to False.
        attn_impl (str): ``'sdpa'`` or ``'eager'``. Defaults to ``'sdpa'``.
        pack_tokens (bool): When at least 10% of a batch is padding, run the row-wise parts
            of every layer (projections, MLP, LayerNorm) on the real tokens only (see
            :class:`~fgclip2_mm.models.backbones.layers.TokenPacker`); valid rows are
            unchanged, padding rows come out as zeros. Defaults to True.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 out_type: str = 'pooled',
                 out_indices: Union[int, Sequence[int]] = -1,
                 frozen: bool = False,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 attn_impl: str = 'sdpa',
                 pack_tokens: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        self.arch = vision_arch(arch)
        cfg = self.arch
        self.embed_dims = cfg['embed_dims']
        self.num_layers = cfg['num_layers']
        self.patch_size = cfg['patch_size']
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type={out_type!r} is not supported, expected one of '
                             f'{OUT_TYPES}')
        self.out_type = out_type
        self.out_indices = self._check_out_indices(out_indices)
        if not -1 <= frozen_stages <= self.num_layers:
            raise ValueError(f'frozen_stages={frozen_stages} must lie in [-1, '
                             f'{self.num_layers}]')
        self.frozen = bool(frozen)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.attn_impl = check_attn_impl(attn_impl)
        self.pack_tokens = pack_tokens

        dims = self.embed_dims
        in_dims = cfg['in_channels'] * self.patch_size**2
        self.patch_embed = nn.Linear(in_dims, dims)
        self.pos_embed = nn.Parameter(torch.zeros(cfg['num_patches'], dims))
        block = dict(
            embed_dims=dims,
            num_heads=cfg['num_heads'],
            mlp_dims=cfg['mlp_dims'],
            layer_norm_eps=cfg['layer_norm_eps'],
            hidden_act=cfg['hidden_act'],
            attn_impl=attn_impl)
        self.layers = nn.ModuleList(EncoderLayer(**block) for _ in range(self.num_layers))
        self.ln_post = nn.LayerNorm(dims, eps=cfg['layer_norm_eps'])
        self.head = MAPHead(**block)
        self.dense_head = MAPHead(**block, trainable_probe=False)
        self.reset_parameters()
        self._freeze()

    def _check_out_indices(self, out_indices) -> tuple:
        items = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not items or not all(isinstance(i, int) for i in items):
            raise ValueError(f'out_indices must be an int or a non-empty sequence of ints, '
                             f'got {out_indices!r}')
        resolved = []
        for i in items:
            if not -self.num_layers <= i < self.num_layers:
                raise ValueError(f'out_indices entry {i} is out of range for '
                                 f'{self.num_layers} layers')
            resolved.append(i % self.num_layers)
        if len(set(resolved)) != len(resolved):
            raise ValueError(f'out_indices {out_indices!r} name a layer twice')
        if self.out_type in ('pooled', 'dense') and resolved != [self.num_layers - 1]:
            raise ValueError(f'out_type={self.out_type!r} uses the last layer only; '
                             f'out_indices must be -1, got {out_indices!r}')
        return tuple(resolved)

    def reset_parameters(self) -> None:
        """SigLIP-style initialisation (lecun-normal patch embedding, pos std D^-0.5)."""
        nn.init.normal_(self.patch_embed.weight, std=self.patch_embed.in_features**-0.5)
        nn.init.zeros_(self.patch_embed.bias)
        nn.init.normal_(self.pos_embed, std=self.embed_dims**-0.5)
        for layer in self.layers:
            layer.reset_parameters()
        self.head.reset_parameters()
        self.dense_head.reset_parameters()

    def init_dense_head_from_head(self) -> None:
        """Copy ``head`` into ``dense_head`` (FG-CLIP 2 init from SigLIP 2)."""
        self.dense_head.load_state_dict(self.head.state_dict())

    # ----------------------------------------------------------------------- freezing
    def _frozen_modules(self) -> list:
        if self.frozen:
            return [self]
        mods = []
        if self.frozen_stages >= 0:
            mods.append(self.patch_embed)
            mods.extend(self.layers[:self.frozen_stages])
        if self.frozen_stages == self.num_layers:
            mods.append(self.ln_post)
        return mods

    def _freeze(self) -> None:
        if self.frozen or self.frozen_stages >= 0:
            self.pos_embed.requires_grad_(False)
        for module in self._frozen_modules():
            nn.Module.train(module, False)  # not .eval(): on self it would recurse
            for param in module.parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True) -> 'FGCLIP2VisionTransformer':
        """Set the mode, then re-apply freezing (frozen parts stay in eval mode)."""
        super().train(mode)
        self._freeze()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple:
        """Layer id for layer-wise LR decay: embeddings 0, layer i -> i + 1, rest L + 1.

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers + 2)``.
        """
        name = param_name[len(prefix):] if param_name.startswith(prefix) else param_name
        if name.startswith(('patch_embed', 'pos_embed')):
            depth = 0
        elif name.startswith('layers.'):
            depth = int(name.split('.')[1]) + 1
        else:
            depth = self.num_layers + 1
        return depth, self.num_layers + 2

    # ------------------------------------------------------------------------ loading
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Resize a checkpoint position table with another grid size (logged)."""
        key = prefix + 'pos_embed'
        ckpt = state_dict.get(key)
        if ckpt is not None and ckpt.ndim == 2 and ckpt.shape != self.pos_embed.shape:
            side = int(round(self.pos_embed.shape[0]**0.5))
            state_dict[key] = resize_pos_grid(ckpt, (side, side))
            MMLogger.get_current_instance().info(
                f'Resized {key} from {tuple(ckpt.shape)} to {tuple(state_dict[key].shape)}')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------------ forward
    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, h*w, p*p*C) patches, row-major, each patch flattened
        as (pixel row, pixel column, channel) like the NaFlex processor (spec §8)."""
        b, c, height, width = images.shape
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(f'image size ({height}, {width}) is not a multiple of the patch '
                             f'size {p}')
        x = images.reshape(b, c, height // p, p, width // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (height // p) * (width // p), p * p * c)

    def forward_tokens(
        self,
        pixel_values: torch.Tensor,
        pixel_attention_mask: Optional[torch.Tensor] = None,
        spatial_shapes: Optional[torch.Tensor] = None,
        out_indices: tuple = ()) -> dict:
        """Run the tower up to ``ln_post``.

        Args:
            pixel_values (Tensor): Pre-patchified pixels (B, N, C*p*p) in (py, px, c)
                order, or images (B, C, H, W) with H, W multiples of p (patchified here; all
                images then share one grid and there is no padding).
            pixel_attention_mask (Tensor, optional): (B, N), 1 for the first h*w rows of
                each image, 0 for padding (it must agree with ``spatial_shapes``). Derived
                from ``spatial_shapes`` when None; not needed (and skipped, which lets SDPA
                use its fastest kernel) when every image fills all N rows.
            spatial_shapes (Tensor, optional): Long (B, 2) = (h, w); required for 3-D input.
            out_indices (tuple[int]): Non-negative layer indices to collect; the encoder
                stops after the last of them when given.

        Returns:
            dict: ``tokens`` (B, N, D) after ``ln_post`` (or the last collected layer),
            ``key_mask`` (B, N) bool or None (no padding), ``spatial_shapes`` (B, 2),
            ``shapes`` (list of distinct [h, w]) and ``outs`` (list of collected maps).
        """
        if pixel_values.ndim == 4:
            b, _, height, width = pixel_values.shape
            pixel_values = self.patchify(pixel_values)
            grid = [height // self.patch_size, width // self.patch_size]
            spatial_shapes = torch.tensor([grid], device=pixel_values.device).expand(b, 2)
            pixel_attention_mask = None
        elif pixel_values.ndim != 3 or spatial_shapes is None:
            raise ValueError('pixel_values must be (B, N, C*p*p) with spatial_shapes (B, 2), '
                             f'or images (B, C, H, W); got {tuple(pixel_values.shape)} and '
                             f'spatial_shapes={spatial_shapes is not None}')
        num_tokens = pixel_values.shape[1]
        unique = unique_shapes(spatial_shapes)
        x = self.patch_embed(pixel_values.to(self.patch_embed.weight.dtype))
        x = x + resize_naflex_pos_embed(self.pos_embed, spatial_shapes, num_tokens, unique).to(
            x.dtype)
        key_mask = None
        if any(h * w < num_tokens for h, w in unique[0]):
            if pixel_attention_mask is None:
                tok = torch.arange(num_tokens, device=x.device)
                key_mask = tok < spatial_shapes.to(x.device).prod(-1, keepdim=True)
            else:
                key_mask = pixel_attention_mask.to(x.device).bool()
        last = max(out_indices) if out_indices else self.num_layers - 1
        x, outs = run_layers(self.layers[:last + 1], x, key_mask, self.with_cp, out_indices,
                             PACK_MIN_PADDING if self.pack_tokens else None)
        if last == self.num_layers - 1:
            x = self.ln_post(x)
            if outs and out_indices[-1] == last:
                outs[-1] = x
        return dict(
            tokens=x,
            key_mask=key_mask,
            spatial_shapes=spatial_shapes,
            shapes=unique[0],
            outs=outs)

    def forward(self,
                pixel_values: torch.Tensor,
                pixel_attention_mask: Optional[torch.Tensor] = None,
                spatial_shapes: Optional[torch.Tensor] = None) -> tuple:
        """Outputs selected by ``out_type`` (see the class docstring); inputs as in
        :meth:`forward_tokens`.

        Returns:
            tuple[Tensor]: One tensor for ``'pooled'`` (B, D) and ``'dense'`` (B, N, D); one
            per ``out_indices`` entry for ``'raw'`` (B, N, D) and ``'featmap'`` (B, D, h, w).
        """
        if self.out_type in ('pooled', 'dense'):
            feats = self.forward_tokens(pixel_values, pixel_attention_mask, spatial_shapes)
            head = self.head if self.out_type == 'pooled' else self.dense_head.forward_dense
            return (head(feats['tokens'], feats['key_mask']), )
        order = sorted(range(len(self.out_indices)), key=self.out_indices.__getitem__)
        feats = self.forward_tokens(pixel_values, pixel_attention_mask, spatial_shapes,
                                    tuple(sorted(self.out_indices)))
        outs = [None] * len(order)
        for pos, i in enumerate(order):
            outs[i] = feats['outs'][pos]
        if self.out_type == 'raw':
            return tuple(outs)
        if len(feats['shapes']) != 1:
            raise ValueError(f'out_type="featmap" needs one (h, w) for the whole batch, got '
                             f'{feats["shapes"]}; use out_type="raw" for mixed shapes')
        h, w = feats['shapes'][0]
        return tuple(o[:, :h * w].unflatten(1, (h, w)).permute(0, 3, 1, 2).contiguous()
                     for o in outs)
