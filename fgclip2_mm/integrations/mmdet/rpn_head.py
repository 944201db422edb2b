"""mmdet's RPN head with normalised stacked convolutions (F-ViT's OV-LVIS RPN)."""
from typing import Optional

from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import RPNHead
from torch import nn

from fgclip2_mm.registry import MODELS
from .utils import host_scope


@MODELS.register_module()
class FGCLIP2RPNHead(RPNHead):
    """``RPNHead`` whose ``num_convs`` > 1 shared 3x3 convolutions take a ``norm_cfg``.

    mmdet 3's ``RPNHead`` stacks ``num_convs`` plain ``ConvModule`` s (conv + ReLU). F-ViT's
    OV-LVIS configs use two of them with synchronised BN (``CustomRPNHead`` with
    ``num_convs=2, norm_cfg=MMSyncBN``: wusize/CLIPSelf F-ViT/models/custom_rpn_head.py:8-37,
    F-ViT/configs/ov_lvis/fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py:20-36);
    its OV-COCO configs use mmdet's plain ``RPNHead`` with ``num_convs=2`` (no norm). With
    ``num_convs=1`` this is exactly ``RPNHead`` (one bare conv, no norm).

    Args:
        norm_cfg (dict, optional): Norm of the stacked convolutions. Defaults to None.
        **kwargs: :class:`mmdet.models.dense_heads.RPNHead` arguments.
    """

    def __init__(self, norm_cfg: Optional[dict] = None, **kwargs) -> None:
        self.norm_cfg = norm_cfg
        if norm_cfg is not None and kwargs.get('num_convs', 1) < 2:
            raise ValueError('FGCLIP2RPNHead: norm_cfg applies to stacked convolutions; set '
                             'num_convs >= 2 (a single RPN conv has no norm, as in mmdet)')
        with host_scope():
            super().__init__(**kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.num_convs > 1:
            channels = [self.in_channels] + [self.feat_channels] * self.num_convs
            self.rpn_conv = nn.Sequential(*[
                ConvModule(c_in, self.feat_channels, 3, padding=1, norm_cfg=self.norm_cfg,
                           inplace=False)  # not in place: see mmdet's RPNHead
                for c_in in channels[:-1]
            ])
