"""The frozen FG-CLIP 2 vision tower as an mmdet backbone (F-ViT simple pyramid + dense map).

mmdet feeds padded batches (B, 3, H, W); every image only fills its top-left ``img_shape``.
The tower is a NaFlex ViT, so each image is run on *its own* 16-px patch grid
(ceil(h / 16), ceil(w / 16)): its patches are gathered into a NaFlex sequence, the position
table is resized to that grid and the padded patches are masked out as attention keys, as
in pretraining. The token maps are scattered back onto the padded (H / 16, W / 16) grid
(zeros outside each image) for the pyramid.
"""
import copy
import math
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.build import build_owned

PYRAMID_STRIDES = (4, 8, 16, 32)


def _pyramid_level(stride_factor: float, dims: int, norm_cfg: dict) -> nn.Module:
    """Map the stride-16 grid to another stride: x4 (two deconvs), x2, x1 or x0.5."""
    if stride_factor == 4:
        return nn.Sequential(
            nn.ConvTranspose2d(dims, dims, 2, 2),
            build_norm_layer(norm_cfg, dims)[1], nn.GELU(), nn.ConvTranspose2d(dims, dims, 2, 2))
    if stride_factor == 2:
        return nn.ConvTranspose2d(dims, dims, 2, 2)
    if stride_factor == 1:
        return nn.Identity()
    return nn.MaxPool2d(2, 2)


@MODELS.register_module()
class FGCLIP2DetBackbone(BaseModule):
    """Frozen FG-CLIP 2 ViT -> four-level simple pyramid (strides 4, 8, 16, 32) + dense map.

    Call graph::

        forward(images, img_shapes, with_dense)
          -> per-image NaFlex sequences (patch gather, grids ceil(h/16) x ceil(w/16))
          -> vit.forward_tokens (frozen, no grad; taps at ``out_indices``)
          -> per tap: LayerNorm -> scatter to (B, D, H/16, W/16) -> deconv x2 x2 / deconv x2
             / identity / max-pool
          -> (optional) dense_head.forward_dense on the last layer: the region-aligned map
             in the text (box walk) space, kept as NaFlex tokens for RoIAlign

    Args:
        vit (dict): Config of :class:`~fgclip2_mm.models.FGCLIP2VisionTransformer` (arch,
            attn_impl, ...); ``out_type``, ``out_indices`` and ``frozen`` are set here.
            Defaults to ``dict(type='FGCLIP2VisionTransformer', arch='base')``.
        checkpoint (str, optional): A checkpoint folder of any layout (see
            :mod:`~fgclip2_mm.models.utils.checkpoint_folder`); its architecture wins over
            ``vit['arch']`` and its vision weights are loaded (the tower stays frozen).
            None keeps the built (random) weights, for tests.
        out_indices (Sequence[int], optional): The four tapped layers, shallow to deep
            (negative values count from the end; a layer may repeat for shallow towers).
            None spreads them evenly: layer ``round(L * k / 4) - 1`` for k = 1..4 (for a
            checkpoint whose depth the config does not know). Defaults to (3, 5, 7, 11)
            (B/16, as F-ViT).
        norm_cfg (dict): Norm between the two stride-4 deconvolutions. Defaults to BN.
        frozen (bool): Keep the tower frozen (eval mode and no grads, also in ``train()``).
            Defaults to True.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vit: Optional[dict] = None,
                 checkpoint: Optional[str] = None,
                 out_indices: Optional[Sequence[int]] = (3, 5, 7, 11),
                 norm_cfg: Optional[dict] = None,
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        vit = copy.deepcopy(vit) if vit is not None else dict(
            type='FGCLIP2VisionTransformer', arch='base')
        source = None
        if checkpoint is not None:  # any layout; the folder is read once
            from fgclip2_mm.models.utils.checkpoint_folder import (load_folder_into,
                                                                   read_checkpoint_folder)
            source = read_checkpoint_folder(checkpoint)
            vit['arch'] = copy.deepcopy(source.arch['vision'])
        vit.update(out_type='raw', out_indices=-1, frozen=frozen)
        self.vit = build_owned(vit, MODELS)
        if source is not None:
            load_folder_into(self.vit, source, prefix='vision_backbone.')
            del source
        self.checkpoint = checkpoint
        self.embed_dims = dims = self.vit.embed_dims
        self.patch_size = self.vit.patch_size
        layers = self.vit.num_layers
        if out_indices is None:
            out_indices = [max(round(layers * k / 4) - 1, 0) for k in range(1, 5)]
        taps = list(out_indices)
        if len(taps) != len(PYRAMID_STRIDES) or not all(isinstance(i, int) for i in taps):
            raise ValueError(f'out_indices needs {len(PYRAMID_STRIDES)} ints (one per '
                             f'pyramid level), got {out_indices!r}')
        if any(not -layers <= i < layers for i in taps):
            raise ValueError(f'out_indices {out_indices!r} out of range for {layers} layers')
        self.out_indices = tuple(i % layers for i in taps)
        norm_cfg = copy.deepcopy(norm_cfg) if norm_cfg is not None else dict(type='BN')
        self.tap_norms = nn.ModuleList(
            nn.LayerNorm(dims, eps=self.vit.arch['layer_norm_eps']) for _ in taps)
        self.levels = nn.ModuleList(
            _pyramid_level(16 / s, dims, norm_cfg) for s in PYRAMID_STRIDES)

    @property
    def frozen(self) -> bool:
        return self.vit.frozen

    # ------------------------------------------------------------------------ geometry
    def image_grids(self, size: Tuple[int, int], img_shapes: Optional[Sequence]) -> List[tuple]:
        """Per-image patch grids (ceil(h / p), ceil(w / p)), clipped to the padded grid."""
        p = self.patch_size
        grid_h, grid_w = size[0] // p, size[1] // p
        if img_shapes is None:
            return None
        grids = []
        for i, shape in enumerate(img_shapes):
            h, w = int(shape[0]), int(shape[1])
            if h < 1 or w < 1:
                raise ValueError(f'image {i} has an empty img_shape {tuple(shape)}')
            grids.append((min(math.ceil(h / p), grid_h), min(math.ceil(w / p), grid_w)))
        return grids

    @staticmethod
    def _token_index(grids: List[tuple], grid_w: int, device) -> tuple:
        """Row of the padded (grid_h * grid_w) map of every NaFlex token, and validity."""
        shapes = torch.tensor(grids, device=device)
        num = int((shapes[:, 0] * shapes[:, 1]).max())
        tok = torch.arange(num, device=device)[None]
        w = shapes[:, 1:]
        valid = tok < shapes.prod(-1, keepdim=True)
        index = torch.where(valid, (tok // w) * grid_w + tok % w, torch.zeros_like(tok))
        return shapes, index, valid

    # ------------------------------------------------------------------------- forward
    def forward(self,
                images: torch.Tensor,
                img_shapes: Optional[Sequence] = None,
                with_dense: bool = False) -> tuple:
        """Pyramid (and dense map) of a padded batch.

        Args:
            images (Tensor): (B, 3, H, W), H and W multiples of the patch size (use
                ``pad_size_divisor=16`` in the data preprocessor).
            img_shapes (Sequence[tuple], optional): Per image the valid (h, w) inside the
                padded batch (``img_shape`` of the data samples). None: every image fills
                the batch.
            with_dense (bool): Also return the dense map. Defaults to False.

        Returns:
            tuple: ``(levels, dense)``; ``levels`` is a tuple of four (B, D, H/s, W/s) maps
            for s = 4, 8, 16, 32; ``dense`` is None or a dict with ``tokens`` (B, N, D) (the
            dense-head features, rows ``[0, h*w)`` of each image in row-major order) and
            ``spatial_shapes`` (B, 2) (each image's (h, w) patch grid) and ``patch_size``.
        """
        b, _, height, width = images.shape
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(f'input size ({height}, {width}) is not a multiple of the patch '
                             f'size {p}; set pad_size_divisor={p} in the data preprocessor')
        grid_h, grid_w = height // p, width // p
        grids = self.image_grids((height, width), img_shapes)
        if grids is not None and len(grids) != b:
            raise ValueError(f'got {len(grids)} img_shapes for a batch of {b} images')
        full = grids is None or all(g == (grid_h, grid_w) for g in grids)
        layers = sorted(set(self.out_indices) | ({self.vit.num_layers - 1} if with_dense else
                                                set()))
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            if full:
                feats = self.vit.forward_tokens(images, out_indices=tuple(layers))
                rows = None
            else:
                patches = self.vit.patchify(images)  # (B, GH*GW, 3*p*p)
                shapes, index, valid = self._token_index(grids, grid_w, images.device)
                seq = torch.gather(patches, 1, index[..., None].expand(-1, -1, patches.shape[2]))
                seq = seq * valid[..., None].to(seq.dtype)
                feats = self.vit.forward_tokens(seq, valid.int(), shapes, tuple(layers))
                rows = torch.where(valid, index, torch.full_like(index, grid_h * grid_w))
        by_layer = dict(zip(layers, feats['outs']))
        levels = []
        for tap, norm, level in zip(self.out_indices, self.tap_norms, self.levels):
            tokens = norm(by_layer[tap])
            levels.append(level(self._to_map(tokens, rows, b, grid_h, grid_w)))
        dense = None
        if with_dense:
            with torch.no_grad():
                tokens = self.vit.dense_head.forward_dense(feats['tokens'], feats['key_mask'])
            dense = dict(tokens=tokens, spatial_shapes=feats['spatial_shapes'], patch_size=p)
        return tuple(levels), dense

    @staticmethod
    def _to_map(tokens: torch.Tensor, rows: Optional[torch.Tensor], batch: int, grid_h: int,
                grid_w: int) -> torch.Tensor:
        """(B, N, D) NaFlex tokens -> (B, D, GH, GW), zeros outside each image.

        ``rows`` (B, N) is the padded-map row of every token (``GH * GW`` for padding
        tokens, which land in a spare row that is dropped); None when no image is padded.
        """
        dims = tokens.shape[-1]
        if rows is None:
            flat = tokens
        else:
            spare = grid_h * grid_w
            flat = tokens.new_zeros(batch, spare + 1, dims)
            flat = flat.scatter(1, rows[..., None].expand(-1, -1, dims), tokens)[:, :spare]
        # contiguous: the transposed view is channels-last, convs keep that layout, and
        # mmcv's CPU RoIAlign (mmcv 2.1 ops/roi_align.py, no .contiguous()) reads its input
        # as NCHW: with two or more images per batch the RoI features were wrong
        return flat.transpose(1, 2).reshape(batch, dims, grid_h, grid_w).contiguous()
