"""What the two cost-volume heads share: the stage count and its checks, the ignore index,
the score activation the segmentor applies, and the labels of a batch."""
import copy
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule

from .losses import segmentation_labels


def check_same_length(**sequences: Sequence) -> int:
    """The common length of the named sequences.

    Raises:
        ValueError: Two lengths differ (every sequence is named with its value).
    """
    lengths = {len(v) for v in sequences.values()}
    if len(lengths) != 1:
        listed = ', '.join(f'{k} {tuple(v)}' for k, v in sequences.items())
        raise ValueError(f'{listed} must have the same length')
    return lengths.pop()


class CostVolumeHeadBase(BaseModule):
    """Base of the heads that turn a dense-feature / class-text cost volume into per-class
    logits at ``2**num_stages`` times the patch grid.

    Args:
        num_stages (int): Upsampling stages, one guidance map each.
        ignore_index (int): Label ignored by the loss.
        init_cfg (dict, optional): mmengine init config (copied).
    """

    #: How the segmentor turns logits into scores: ``'softmax'`` or ``'sigmoid'``.
    score_activation = 'softmax'

    def __init__(self, num_stages: int, ignore_index: int,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        self.num_stages = int(num_stages)
        self.ignore_index = int(ignore_index)

    def check_guidance(self, layers: Sequence[torch.Tensor]) -> None:
        """Raise unless one guidance map is given per upsampling stage."""
        if len(layers) != self.num_stages:
            raise ValueError(f'the head has {self.num_stages} upsampling stages but got '
                             f'{len(layers)} guidance maps')

    def labels(self, data_samples: List, num_classes: int) -> torch.Tensor:
        """(B, H, W) long labels of ``gt_sem_seg`` checked against ``num_classes`` (see
        :func:`segmentation_labels`)."""
        return segmentation_labels(data_samples, num_classes, self.ignore_index)
