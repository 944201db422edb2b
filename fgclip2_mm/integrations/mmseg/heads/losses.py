"""Losses of the segmentation heads (pure functions) and the label check they share."""
from typing import List

import torch
import torch.nn.functional as F


def segmentation_labels(data_samples: List, num_classes: int, ignore_index: int) -> torch.Tensor:
    """Stack ``gt_sem_seg`` of a batch to (B, H, W) long labels.

    Raises:
        ValueError: A label outside ``0 .. num_classes - 1`` that is not ``ignore_index``
            (a vocabulary shorter than the label map), listing up to five of them.
    """
    label = torch.stack([s.gt_sem_seg.data for s in data_samples]).squeeze(1).long()
    bad = (label >= num_classes) & (label != ignore_index)
    if bad.any():
        raise ValueError(f'labels {sorted(label[bad].unique().tolist())[:5]} are outside '
                         f'the {num_classes}-class training vocabulary (ignore index '
                         f'{ignore_index})')
    return label


def catseg_bce_loss(logits: torch.Tensor, label: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Per-class binary cross-entropy as CAT-Seg computes it (``cat_seg_model.py``
    l.164-172): one-hot targets at labelled pixels, all-zero targets at ignored pixels
    (they count as negatives of every class), mean over B * H * W * K.

    Args:
        logits (Tensor): (B, K, H, W) logits at the label size.
        label (Tensor): (B, H, W) long labels.
        ignore_index (int): The unlabelled value.

    Returns:
        Tensor: Scalar loss.
    """
    valid = label != ignore_index
    target = F.one_hot(label.masked_fill(~valid, 0), logits.shape[1]).to(logits.dtype)
    target = target * valid[..., None].to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits.permute(0, 2, 3, 1), target)
