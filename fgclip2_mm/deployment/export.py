"""Export FG-CLIP 2 to ONNX (torch side; the runtime in :mod:`.runtime` needs no torch).

Two graphs, both with dynamic batch and sequence sizes:

* **image encoder** ``(pixel_values (B, N, 3*p*p) float32, pixel_attention_mask (B, N)
  int64, spatial_shapes (B, 2) int64, boxes (B, K, 4) float32 in [0, 1] xyxy of the
  image)`` -> ``image_embeds (B, D)``, ``dense_features (B, N, D)``, ``region_features
  (B, K, D)`` (none normalised). Every image of a batch may have its own (h, w) grid, as in
  training and evaluation.
* **text encoder** of one walk (``short``, ``box`` or ``long``, chosen at export):
  ``input_ids (T, L) int64`` -> ``text_embeds (T, D)``.

What differs from the PyTorch forward, and why it gives the same numbers:

* the NaFlex position table is resized to each image's grid by
  :func:`naflex_pos_embed_by_weights`, an explicit form of the antialiased bilinear
  ``F.interpolate`` (triangle filter widened by the down-scaling factor, weights normalised
  per output cell) built from (h, w) with tensor arithmetic, so the graph takes any grid
  (the PyTorch path groups images by shape on the host, which a graph cannot);
* token packing is off (it reads the mask on the host); the padding rows are masked as keys
  either way, so valid rows are unchanged;
* RoIAlign gets the static bound ``N`` for the samples per box instead of a host read of
  the largest grid (:func:`~fgclip2_mm.models.utils.region_features.roi_align_1x1`).
"""
import json
import os
import shutil
from typing import Sequence

import torch
from torch import nn

from fgclip2_mm.text.tokenization import WALK_TYPES
from fgclip2_mm.models.backbones.layers import run_layers
from fgclip2_mm.models.utils.region_features import normalized_boxes_to_grid, roi_align_1x1
from .runtime import META_FILE

IMAGE_INPUTS = ('pixel_values', 'pixel_attention_mask', 'spatial_shapes', 'boxes')
IMAGE_OUTPUTS = ('image_embeds', 'dense_features', 'region_features')
TEXT_INPUTS = ('input_ids', )
TEXT_OUTPUTS = ('text_embeds', )
IMAGE_FILE = 'image_encoder.onnx'
TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')
OPSET = 18


def text_file(walk: str) -> str:
    """File name of the text encoder of ``walk``."""
    return f'text_encoder_{walk}.onnx'


def _axis_weights(out_len: torch.Tensor, in_len: int, num: torch.Tensor) -> torch.Tensor:
    """Antialiased bilinear weights (Q, in_len) for output positions ``num`` (Q,) of an axis
    resized from ``in_len`` to ``out_len`` cells (``align_corners=False``)."""
    scale = in_len / out_len.to(torch.float32)  # (Q,)
    support = torch.clamp(scale, min=1.0)
    centre = (num.to(torch.float32) + 0.5) * scale
    src = torch.arange(in_len, dtype=torch.float32, device=num.device) + 0.5
    weights = torch.relu(1.0 - (src[None] - centre[:, None]).abs() / support[:, None])
    return weights / weights.sum(-1, keepdim=True)


def naflex_pos_embed_by_weights(pos_embed: torch.Tensor, spatial_shapes: torch.Tensor,
                                num_tokens: int) -> torch.Tensor:
    """Per-token position embeddings of a NaFlex batch, graph-friendly.

    Args:
        pos_embed (Tensor): Square table (P, D), P = side * side, row-major.
        spatial_shapes (Tensor): Long (B, 2) grids (h, w).
        num_tokens (int): Sequence length N.

    Returns:
        Tensor: (B, N, D): row ``r * w + c`` of image b holds the table resized to (h, w)
        at cell (r, c) (as ``F.interpolate(mode='bilinear', antialias=True)``); padding
        rows hold a clamped cell's value (they are masked everywhere).
    """
    side = int(round(pos_embed.shape[0]**0.5))
    tok = torch.arange(num_tokens, device=spatial_shapes.device)
    h, w = spatial_shapes[:, :1], spatial_shapes[:, 1:]  # (B, 1)
    rows = torch.minimum(tok[None] // w, h - 1)  # (B, N)
    cols = tok[None] % w
    b, n = rows.shape
    wy = _axis_weights(h.expand(b, n).reshape(-1), side, rows.reshape(-1))  # (B*N, side)
    wx = _axis_weights(w.expand(b, n).reshape(-1), side, cols.reshape(-1))
    grid = pos_embed.float().reshape(side, side, -1)
    out = torch.einsum('qj,jkd->qkd', wy, grid)
    out = torch.einsum('qk,qkd->qd', wx, out)
    return out.reshape(b, n, -1).to(pos_embed.dtype)


class ImageEncoderForExport(nn.Module):
    """The vision tower of an :class:`~fgclip2_mm.models.FGCLIP2` as one graph (see the
    module docstring for inputs and outputs)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.backbone = model.vision_backbone

    def forward(self, pixel_values, pixel_attention_mask, spatial_shapes, boxes):
        bb = self.backbone
        num_tokens = pixel_values.shape[1]
        x = bb.patch_embed(pixel_values)
        x = x + naflex_pos_embed_by_weights(bb.pos_embed, spatial_shapes, num_tokens)
        key_mask = pixel_attention_mask > 0
        x, _ = run_layers(bb.layers, x, key_mask)
        x = bb.ln_post(x)
        image = bb.head(x, key_mask)
        dense = bb.dense_head.forward_dense(x, key_mask)
        grid = normalized_boxes_to_grid(boxes, spatial_shapes)
        regions = roi_align_1x1(dense, spatial_shapes, grid, max_extent=num_tokens)
        return image, dense, regions


class TextEncoderForExport(nn.Module):
    """One walk of the text tower: ``input_ids (T, L)`` -> embeddings (T, D)."""

    def __init__(self, model, walk: str) -> None:
        super().__init__()
        if walk not in WALK_TYPES:
            raise ValueError(f'walk must be one of {WALK_TYPES}, got {walk!r}')
        self.text = model.text_encoder
        self.walk = walk

    def forward(self, input_ids):
        return self.text(input_ids, self.walk)


def _text_length(model, walk: str) -> int:
    arch = model.text_encoder.arch
    return arch['long_len'] if walk == 'long' else arch['max_len']


def export_onnx(model, tokenizer_dir: str, out_dir: str, walks: Sequence[str] = ('short', 'box'),
                max_num_patches: int = 1024, opset: int = OPSET) -> dict:
    """Write the ONNX image encoder, one text encoder per walk, the tokenizer files and
    :data:`META_FILE` (what :class:`~fgclip2_mm.deployment.FGCLIP2OnnxModel` reads).

    Args:
        model (FGCLIP2): The model (eval mode, fp32).
        tokenizer_dir (str): Folder with the tokenizer files (``tokenizer.json`` needed).
        out_dir (str): Output folder (created; files of the same names are replaced).
        walks (Sequence[str]): Text walks to export. Defaults to ``('short', 'box')``.
        max_num_patches (int): Default patch budget of the runtime's preprocessing
            (FG-CLIP 2 evaluates with up to 1024). Defaults to 1024.
        opset (int): ONNX opset. Defaults to 18.

    Returns:
        dict: The meta information written.
    """
    walks = list(dict.fromkeys(walks))
    bad = [w for w in walks if w not in WALK_TYPES]
    if not walks or bad:
        raise ValueError(f'walks must be a non-empty subset of {WALK_TYPES}, got {walks}')
    if not os.path.isfile(os.path.join(tokenizer_dir, 'tokenizer.json')):
        raise ValueError(f'{tokenizer_dir!r} has no tokenizer.json (the ONNX runtime reads '
                         'it with the `tokenizers` library)')
    os.makedirs(out_dir, exist_ok=True)
    model = model.float().eval()
    bb = model.vision_backbone
    patch_dims = bb.arch['in_channels'] * bb.patch_size**2
    gen = torch.Generator().manual_seed(0)
    # Example inputs: two images with different grids, one padded.
    shapes = torch.tensor([[2, 3], [3, 3]])
    mask = (torch.arange(9)[None] < shapes.prod(-1, keepdim=True)).long()
    pixels = torch.randn(2, 9, patch_dims, generator=gen) * mask[..., None]
    boxes = torch.tensor([[[0.1, 0.1, 0.6, 0.9]] * 2] * 2)
    dims = dict(batch=torch.export.Dim('batch'), num_patches=torch.export.Dim('num_patches'),
                num_boxes=torch.export.Dim('num_boxes'))
    with torch.no_grad():
        torch.onnx.export(
            ImageEncoderForExport(model), (pixels, mask, shapes, boxes),
            os.path.join(out_dir, IMAGE_FILE), input_names=list(IMAGE_INPUTS),
            output_names=list(IMAGE_OUTPUTS), opset_version=opset, dynamo=True,
            dynamic_shapes=({0: dims['batch'], 1: dims['num_patches']},
                            {0: dims['batch'], 1: dims['num_patches']}, {0: dims['batch']},
                            {0: dims['batch'], 1: dims['num_boxes']}), verbose=False)
        for walk in walks:
            ids = torch.randint(0, model.text_encoder.arch['vocab_size'],
                                (2, _text_length(model, walk)), generator=gen)
            torch.onnx.export(
                TextEncoderForExport(model, walk), (ids, ), os.path.join(out_dir, text_file(walk)),
                input_names=list(TEXT_INPUTS), output_names=list(TEXT_OUTPUTS),
                opset_version=opset, dynamo=True,
                dynamic_shapes=({0: torch.export.Dim('num_texts')}, ), verbose=False)
    copied = []
    for name in TOKENIZER_FILES:
        if os.path.isfile(os.path.join(tokenizer_dir, name)):
            shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(out_dir, name))
            copied.append(name)
    meta = dict(
        format='fgclip2_onnx', format_version=1, opset=opset,
        image_encoder=IMAGE_FILE,
        text_encoders={w: dict(file=text_file(w), length=_text_length(model, w)) for w in walks},
        patch_size=bb.patch_size, max_num_patches=int(max_num_patches),
        embed_dims=dict(image=bb.embed_dims, text={w: model.text_encoder.arch[
            'proj_dims' if w == 'short' else 'embed_dims'] for w in walks}),
        lowercase=True, tokenizer_files=copied,
        logit_scale=float(model.logit_scale.detach().reshape(())),
        logit_bias=float(model.logit_bias.detach().reshape(())),
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    with open(os.path.join(out_dir, META_FILE), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    return meta
