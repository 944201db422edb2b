"""Text-embedding classifier of the OV box head: cosine to class texts + learned background."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS

#: Logit given to classes outside the training vocabulary while training (finite, so a
#: zero label weight times it stays 0; exp() of it underflows to exactly 0 in fp16/32).
MASKED_LOGIT = -1e4


@MODELS.register_module()
class FGCLIP2TextClassifier(nn.Module):
    """``logits = T * cos(proj(x), [class_embeds; bg])`` with a learned background and T.

    The class embeddings are a *non-persistent buffer* (not a trained parameter), set with
    :meth:`set_class_embeddings`; the vocabulary can therefore be swapped at any time, and
    checkpoints do not depend on it. While training, the logits of classes marked as not
    trainable (the novel classes of a base-only run) are set to :data:`MASKED_LOGIT`: they
    drop out of the softmax, so those classes get neither a positive target nor a gradient.

    Args:
        in_features (int): Width of the RoI features.
        embed_dims (int): Width of the text embeddings (the FG-CLIP 2 projection width).
        temperature (float): Initial temperature T (F-ViT: 50). Defaults to 50.
        learn_temperature (bool): Train log T. Defaults to True.
    """

    def __init__(self,
                 in_features: int,
                 embed_dims: int,
                 temperature: float = 50.0,
                 learn_temperature: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.in_features = in_features
        self.embed_dims = embed_dims
        self.proj = nn.Linear(in_features, embed_dims)
        self.bg_embed = nn.Parameter(torch.randn(embed_dims) * embed_dims**-0.5)
        self.log_temperature = nn.Parameter(
            torch.tensor(math.log(temperature)), requires_grad=learn_temperature)
        self.register_buffer('class_embeds', torch.zeros(0, embed_dims), persistent=False)
        self.register_buffer('trainable', torch.zeros(0, dtype=torch.bool), persistent=False)

    @property
    def num_classes(self) -> int:
        return int(self.class_embeds.shape[0])

    def set_class_embeddings(self, embeds: torch.Tensor,
                             trainable: Optional[torch.Tensor] = None) -> None:
        """Set the vocabulary.

        Args:
            embeds (Tensor): (C, D) class embeddings (normalised here).
            trainable (Tensor, optional): Bool (C,), classes that may be supervised while
                training. Defaults to all.
        """
        if embeds.ndim != 2 or embeds.shape[1] != self.embed_dims or embeds.shape[0] == 0:
            raise ValueError(f'class embeddings must have shape (C >= 1, {self.embed_dims}), '
                             f'got {tuple(embeds.shape)}')
        if trainable is None:
            trainable = torch.ones(embeds.shape[0], dtype=torch.bool)
        trainable = torch.as_tensor(trainable, dtype=torch.bool)
        if trainable.shape != (embeds.shape[0], ):
            raise ValueError(f'trainable must have shape ({embeds.shape[0]},), got '
                             f'{tuple(trainable.shape)}')
        device = self.bg_embed.device
        self.class_embeds = F.normalize(embeds.detach().float(), dim=-1).to(device)
        self.trainable = trainable.to(device)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised region embeddings (N, D) of RoI features (N, in_features)."""
        return F.normalize(self.proj(x), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classification logits (N, C + 1), the background last (mmdet's convention)."""
        if self.num_classes == 0:
            raise ValueError('FGCLIP2TextClassifier has no vocabulary: call set_vocabulary() '
                             'on the RoI head, or add FGCLIP2VocabularyHook to custom_hooks')
        weights = torch.cat([self.class_embeds, F.normalize(self.bg_embed, dim=0)[None]])
        logits = self.embed(x) @ weights.to(x.dtype).t() * self.log_temperature.exp()
        if self.training and not bool(self.trainable.all()):
            keep = torch.cat([self.trainable, self.trainable.new_ones(1)])
            logits = logits.masked_fill(~keep, MASKED_LOGIT)
        return logits
