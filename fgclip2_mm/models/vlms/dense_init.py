"""``FGCLIP2SelfSimilarDenseInit``: a dense-head initialisation for training from scratch.

FG-CLIP 2's dense head is a MAP head whose queries are the tokens themselves, with no
residual to the token (``A + MLP(LN(A))``, spec 1.4). In the released recipe it starts as a
copy of SigLIP 2's trained MAP head. From a random init, the tokens of one image are very
similar (after ``ln_post``) and the query-key products almost constant, so every token
attends uniformly to the whole image: every region feature of an image is the same vector
(measured on the synthetic world: cosine 1.000 between the RoIAlign features of different
boxes of one image), and the region and hard-negative losses get no signal until the head
has learnt sharp attention, which takes hundreds of CPU steps.

This initializer sets the key projection equal to the query projection and scales both, so
the attention logits ``s^2 (W x_i) . (W x_j)`` form a positive semi-definite similarity:
each token attends to the tokens that look like it (the same object), and region features
keep the local content from step one (cosine 0.95 between boxes of one image, the level of
the raw tokens). Used by ``configs/fgclip2_stage2_synthetic.py``; never needed when the
model starts from a SigLIP 2 / FG-CLIP 2 checkpoint.
"""
import torch

from fgclip2_mm.registry import WEIGHT_INITIALIZERS


@WEIGHT_INITIALIZERS.register_module(name='FGCLIP2SelfSimilarDenseInit')
class FGCLIP2SelfSimilarDenseInit:
    """Tie the dense head's key projection to its query projection and scale both.

    Config: ``model.init_cfg=dict(type='fgclip2_mm.FGCLIP2SelfSimilarDenseInit', scale=8.)``
    (applied by :meth:`FGCLIP2.init_weights`, before any ``FGCLIP2Pretrained`` entry).

    Args:
        scale (float): Multiplier of the query and key weights and biases. Defaults to 8.
    """

    def __init__(self, scale: float = 8.0) -> None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise ValueError(f'scale must be a positive number, got {scale!r}')
        self.scale = float(scale)
        self.wholemodule = False  # set by mmengine's initialize(); unused

    @torch.no_grad()
    def __call__(self, module) -> None:
        """Initialise ``module.vision_backbone.dense_head`` (an FGCLIP2) or
        ``module.dense_head`` (an FGCLIP2VisionTransformer) in place."""
        backbone = getattr(module, 'vision_backbone', module)
        head = getattr(backbone, 'dense_head', None)
        if head is None:
            raise ValueError(f'FGCLIP2SelfSimilarDenseInit needs an FGCLIP2 or an '
                             f'FGCLIP2VisionTransformer, got {type(module).__name__}')
        qkv, dims = head.attn.qkv, head.attn.embed_dims
        qkv.weight[dims:2 * dims] = qkv.weight[:dims]
        qkv.bias[dims:2 * dims] = qkv.bias[:dims]
        qkv.weight[:2 * dims] *= self.scale
        qkv.bias[:2 * dims] *= self.scale

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'
