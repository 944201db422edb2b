"""``FGCLIP2CostAggregationHead``: the light CAT-Seg-style head (arXiv 2303.11797).

The CAT-Seg protocol configs use :class:`FGCLIP2CATSegHead` (CAT-Seg's own aggregator and
loss); this lighter head (convolutional spatial blocks, softmax cross-entropy, a cost skip)
is the named alternative the CPU-sized synthetic configs select.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS as MMSEG_MODELS
from torch import nn

from fgclip2_mm.registry import MODELS
from ..utils import build_host
from .aggregation_layers import ClassAggregation, GuidedUpsample, SpatialAggregation
from .head_base import CostVolumeHeadBase, check_same_length


@MODELS.register_module()
class FGCLIP2CostAggregationHead(CostVolumeHeadBase):
    """Light cost aggregation between dense image features and class text embeddings.

    Following CAT-Seg's idea (written from the paper, kept small):

    1. cost volume: cosine similarity of every patch feature with every class embedding,
       (B, K, h, w);
    2. cost embedding: a 7x7 convolution lifts each class's cost map to C channels;
    3. ``num_blocks`` x (spatial aggregation: residual convolutions over each class map,
       guided by a projection of the image features; class aggregation: linear attention
       over the K classes at each pixel, guided by a projection of the class texts; no
       class positional encoding, so any vocabulary size works at test time);
    4. upsampling decoder: ``len(decoder_dims)`` x2 stages, each fused with a transposed-
       convolution projection of an earlier backbone layer (finer guidance);
    5. a 3x3 convolution to one logit per class and pixel, plus the upsampled cost volume
       times a learnable scale. The last convolution starts at zero, so an untrained head
       predicts exactly the scaled cost volume (the training-free segmentation).

    Args:
        in_dims (int): Channels D of the dense features and text embeddings.
        embed_dims (int): Cost-embedding channels C. Defaults to 128.
        guidance_dims (int): Image-guidance channels of the spatial blocks. Defaults to 32.
        text_guidance_dims (int): Text-guidance channels of the class blocks. Defaults to 32.
        num_blocks (int): Spatial + class aggregation pairs. Defaults to 2.
        num_heads (int): Heads of the class attention. Defaults to 4.
        decoder_dims (Sequence[int]): Channels of the upsampling stages. Defaults to
            (64, 32).
        decoder_guidance_dims (Sequence[int]): Guidance channels of those stages (one
            backbone layer each). Defaults to (32, 16).
        cost_scale_init (float): Initial multiplier of the cost skip. Defaults to 20.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        loss_decode (dict): mmseg loss config (built in the mmseg scope). Defaults to
            ``dict(type='CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True)``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_dims: int,
                 embed_dims: int = 128,
                 guidance_dims: int = 32,
                 text_guidance_dims: int = 32,
                 num_blocks: int = 2,
                 num_heads: int = 4,
                 decoder_dims: Sequence[int] = (64, 32),
                 decoder_guidance_dims: Sequence[int] = (32, 16),
                 cost_scale_init: float = 20.0,
                 ignore_index: int = 255,
                 loss_decode: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        stages = check_same_length(decoder_dims=decoder_dims,
                                   decoder_guidance_dims=decoder_guidance_dims)
        super().__init__(stages, ignore_index, init_cfg)
        self.cost_embed = nn.Conv2d(1, embed_dims, 7, padding=3)
        self.image_guidance = nn.Conv2d(in_dims, guidance_dims, 1)
        self.text_guidance = nn.Linear(in_dims, text_guidance_dims)
        self.spatial = nn.ModuleList(
            SpatialAggregation(embed_dims, guidance_dims) for _ in range(num_blocks))
        self.classes = nn.ModuleList(
            ClassAggregation(embed_dims, text_guidance_dims, num_heads)
            for _ in range(num_blocks))
        self.guidance_proj = nn.ModuleList()
        self.decoder = nn.ModuleList()
        in_ch = embed_dims
        for i, (out_ch, g_ch) in enumerate(zip(decoder_dims, decoder_guidance_dims)):
            factor = 2**(i + 1)
            self.guidance_proj.append(nn.ConvTranspose2d(in_dims, g_ch, factor, stride=factor))
            self.decoder.append(GuidedUpsample(in_ch, g_ch, out_ch))
            in_ch = out_ch
        self.cls_conv = nn.Conv2d(in_ch, 1, 3, padding=1)
        nn.init.zeros_(self.cls_conv.weight)
        nn.init.zeros_(self.cls_conv.bias)
        self.log_cost_scale = nn.Parameter(torch.tensor(math.log(float(cost_scale_init))))
        loss_cfg = loss_decode or dict(type='CrossEntropyLoss', loss_weight=1.0,
                                       avg_non_ignore=True)
        self.loss_decode = build_host(loss_cfg, MMSEG_MODELS)

    def forward(self, dense: torch.Tensor, text: torch.Tensor,
                layers: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-class logits.

        Args:
            dense (Tensor): Dense image features (B, D, h, w).
            text (Tensor): Class embeddings (K, D).
            layers (Sequence[Tensor]): ``num_stages`` backbone maps (B, D, h, w); map ``i``
                guides upsampling stage ``i`` (``guidance_layers`` order, shallower first).

        Returns:
            Tensor: Logits (B, K, h * 2**S, w * 2**S), S = ``num_stages``.
        """
        self.check_guidance(layers)
        batch, _, h, w = dense.shape
        num_classes = text.shape[0]
        dense_n = F.normalize(dense, dim=1)
        text_n = F.normalize(text.to(dense.dtype), dim=-1)
        cost = torch.einsum('bdhw,kd->bkhw', dense_n, text_n)
        x = self.cost_embed(cost.reshape(batch * num_classes, 1, h, w))
        img_guid = self.image_guidance(dense_n)
        txt_guid = self.text_guidance(text_n)
        for spatial, classes in zip(self.spatial, self.classes):
            x = spatial(x, img_guid, num_classes)
            c = x.shape[1]
            x = x.view(batch, num_classes, c, h, w).permute(0, 3, 4, 1, 2).reshape(-1,
                                                                                   num_classes, c)
            x = classes(x, txt_guid)
            x = x.view(batch, h, w, num_classes, c).permute(0, 3, 4, 1, 2).reshape(
                batch * num_classes, c, h, w)
        for proj, stage, layer in zip(self.guidance_proj, self.decoder, layers):
            x = stage(x, proj(layer), num_classes)
        out_h, out_w = x.shape[-2:]
        logits = self.cls_conv(x).view(batch, num_classes, out_h, out_w)
        skip = F.interpolate(cost, size=(out_h, out_w), mode='bilinear', align_corners=False)
        return logits + self.log_cost_scale.exp() * skip

    def loss_by_feat(self, seg_logits: torch.Tensor, data_samples: List) -> dict:
        """Cross-entropy (and pixel accuracy, not a loss) against ``gt_sem_seg``.

        Args:
            seg_logits (Tensor): (B, K, H', W') logits, resized here to the labels.
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` (1, H, W).

        Returns:
            dict: ``{loss_decode.loss_name: Tensor, 'acc_seg': Tensor}``.
        """
        label = self.labels(data_samples, seg_logits.shape[1])
        logits = resize(seg_logits, size=label.shape[-2:], mode='bilinear',
                        align_corners=False)
        return {
            self.loss_decode.loss_name:
            self.loss_decode(logits, label, ignore_index=self.ignore_index),
            'acc_seg': accuracy(logits, label, ignore_index=self.ignore_index)
        }
