"""Text-embedding classifier of the OV box head: cosine to class texts + a background."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS

#: Logit given to classes outside the training vocabulary while training (finite, so a
#: zero label weight times it stays 0; exp() of it underflows to exactly 0 in fp16/32).
MASKED_LOGIT = -1e4


#: ``'text'``: the background is a fixed text embedding given with the vocabulary (F-ViT:
#: ``learn_bg=False``, the prompt-ensembled embedding of the word "background",
#: wusize/CLIPSelf F-ViT/models/fvit_head.py:24,51-61 and
#: F-ViT/tools/dump_coco_openclip_feature.py:20). ``'learned'``: a trained embedding
#: (random init), independent of the vocabulary.
BACKGROUNDS = ('text', 'learned')


@MODELS.register_module()
class FGCLIP2TextClassifier(nn.Module):
    """``logits = T * cos(f(x), [class_embeds; background])`` with a learned T.

    ``f`` is a linear projection to the text width, followed by a ReLU when ``relu`` (F-ViT
    applies one to its last class-branch FC, fvit_head.py:95-96, marked FIXME there). The
    class embeddings are a *non-persistent buffer* (not a trained parameter), set with
    :meth:`set_class_embeddings`; the vocabulary can therefore be swapped at any time, and
    checkpoints do not depend on it. The background embedding is either a fixed text
    embedding given with the vocabulary (``background='text'``, also a non-persistent
    buffer) or a trained parameter (``'learned'``). While training, the logits of classes
    marked as not trainable (the novel classes of a base-only run) are set to
    :data:`MASKED_LOGIT`: they drop out of the softmax, so those classes get neither a
    positive target nor a gradient.

    Args:
        in_features (int): Width of the RoI features.
        embed_dims (int): Width of the text embeddings (the FG-CLIP 2 projection width).
        temperature (float): Initial temperature T (F-ViT: ``learned_temperature=50``).
            Defaults to 50.
        learn_temperature (bool): Train log T. Defaults to True.
        background (str): One of :data:`BACKGROUNDS`. Defaults to ``'learned'``.
        relu (bool): ReLU after the projection (F-ViT). Defaults to False.
    """

    def __init__(self,
                 in_features: int,
                 embed_dims: int,
                 temperature: float = 50.0,
                 learn_temperature: bool = True,
                 background: str = 'learned',
                 relu: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if background not in BACKGROUNDS:
            raise ValueError(f'classifier background={background!r} is not supported, '
                             f'expected one of {BACKGROUNDS}')
        self.in_features = in_features
        self.embed_dims = embed_dims
        self.background = background
        self.relu = bool(relu)
        self.proj = nn.Linear(in_features, embed_dims)
        if background == 'learned':
            self.bg_embed = nn.Parameter(torch.randn(embed_dims) * embed_dims**-0.5)
        else:
            self.register_buffer('bg_embed', torch.zeros(embed_dims), persistent=False)
        self.log_temperature = nn.Parameter(
            torch.tensor(math.log(temperature)), requires_grad=learn_temperature)
        self.register_buffer('class_embeds', torch.zeros(0, embed_dims), persistent=False)
        self.register_buffer('trainable', torch.zeros(0, dtype=torch.bool), persistent=False)

    @property
    def num_classes(self) -> int:
        return int(self.class_embeds.shape[0])

    def set_class_embeddings(self, embeds: torch.Tensor,
                             trainable: Optional[torch.Tensor] = None,
                             background: Optional[torch.Tensor] = None) -> None:
        """Set the vocabulary.

        Args:
            embeds (Tensor): (C, D) class embeddings (normalised here).
            trainable (Tensor, optional): Bool (C,), classes that may be supervised while
                training. Defaults to all.
            background (Tensor, optional): (D,) background text embedding; required with
                ``background='text'``, refused with ``'learned'``.
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
        if (background is None) != (self.background == 'learned'):
            raise ValueError(f'classifier background={self.background!r}: the background '
                             f'embedding must {"not " if background is not None else ""}'
                             'be given with the class embeddings')
        device = self.proj.weight.device
        if background is not None:
            if background.shape != (self.embed_dims, ):
                raise ValueError(f'background embedding must have shape ({self.embed_dims},),'
                                 f' got {tuple(background.shape)}')
            self.bg_embed = F.normalize(background.detach().float(), dim=0).to(device)
        self.class_embeds = F.normalize(embeds.detach().float(), dim=-1).to(device)
        self.trainable = trainable.to(device)

    def weights(self) -> torch.Tensor:
        """(C + 1, D) L2-normalised class embeddings, the background last."""
        return torch.cat([self.class_embeds, F.normalize(self.bg_embed, dim=0)[None]])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised region embeddings (N, D) of RoI features (N, in_features)."""
        x = self.proj(x)
        return F.normalize(F.relu(x) if self.relu else x, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classification logits (N, C + 1), the background last (mmdet's convention)."""
        if self.num_classes == 0:
            raise ValueError('FGCLIP2TextClassifier has no vocabulary: call set_vocabulary() '
                             'on the RoI head, or add FGCLIP2VocabularyHook to custom_hooks')
        weights = self.weights().to(x.dtype)
        logits = self.embed(x) @ weights.t() * self.log_temperature.exp()
        if self.training and not bool(self.trainable.all()):
            keep = torch.cat([self.trainable, self.trainable.new_ones(1)])
            logits = logits.masked_fill(~keep, MASKED_LOGIT)
        return logits
