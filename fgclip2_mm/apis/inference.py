"""High-level FG-CLIP 2 inference on PIL / numpy images and EN / ZH strings.

Preprocessing is :func:`fgclip2_mm.datasets.transforms.naflex_patchify` (SigLIP 2 NaFlex,
spec §8) with FG-CLIP 2's dynamic patch budget unless one is given; texts go through
:class:`fgclip2_mm.datasets.FGCLIP2Tokenizer` (lower-cased, right-padded to 64 / 196).
Every helper runs under ``torch.inference_mode`` on the model's device and dtype.
"""
import os
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

ImageLike = Union['PIL.Image.Image', np.ndarray]  # noqa: F821


def _as_rgb_array(image) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return image
    if hasattr(image, 'convert'):  # PIL image
        return np.asarray(image.convert('RGB'))
    raise TypeError(f'expected a PIL image or an (H, W, 3) uint8 array, got {type(image)}')


def _as_list(items) -> list:
    return list(items) if isinstance(items, (list, tuple)) else [items]


def _device_dtype(model) -> tuple:
    param = next(model.parameters())
    return param.device, param.dtype


def prepare_images(images: Union[ImageLike, Sequence[ImageLike]],
                   max_num_patches: Optional[int] = None,
                   patch_size: int = 16) -> dict:
    """Patchify and collate images.

    Args:
        images (PIL.Image | np.ndarray | list): One image or a list; arrays are (H, W, 3)
            uint8 RGB.
        max_num_patches (int, optional): Patch budget; by default FG-CLIP 2's bucket of the
            largest image (128 ... 1024, spec §8).
        patch_size (int): Patch side. Defaults to 16.

    Returns:
        dict: ``pixel_values`` (B, N, 3*p*p), ``pixel_attention_mask`` (B, N),
        ``spatial_shapes`` (B, 2) and ``image_sizes`` (B, 2) = original (height, width).
    """
    from fgclip2_mm.datasets.transforms.naflex import (collate_naflex, naflex_patchify,
                                                       select_patch_budget_batch)
    arrays = [_as_rgb_array(im) for im in _as_list(images)]
    sizes = [(int(a.shape[0]), int(a.shape[1])) for a in arrays]
    budget = max_num_patches or select_patch_budget_batch(sizes, patch_size)
    batch = collate_naflex([naflex_patchify(a, budget, patch_size) for a in arrays])
    batch['image_sizes'] = torch.tensor(sizes, dtype=torch.long)
    return batch


def _vision_inputs(model, batch: dict) -> tuple:
    device, dtype = _device_dtype(model)
    return (batch['pixel_values'].to(device, dtype), batch['pixel_attention_mask'].to(device),
            batch['spatial_shapes'].to(device))


def _tokenizer(tokenizer, model):
    """A tokenizer object; one built from a folder pads to the model's own walk lengths."""
    if isinstance(tokenizer, (str, os.PathLike)):
        from fgclip2_mm.datasets.tokenization import FGCLIP2Tokenizer
        text = model.text_encoder
        return FGCLIP2Tokenizer(tokenizer, short_length=text.max_len, long_length=text.long_len)
    return tokenizer


@torch.inference_mode()
def encode_images(model,
                  images,
                  max_num_patches: Optional[int] = None,
                  normalize: bool = True) -> torch.Tensor:
    """Global image embeddings (B, D) (L2-normalised by default)."""
    emb = model.get_image_features(*_vision_inputs(model, prepare_images(images, max_num_patches)))
    return F.normalize(emb.float(), dim=-1) if normalize else emb


@torch.inference_mode()
def encode_texts(model,
                 texts: Union[str, Sequence[str]],
                 tokenizer,
                 walk_type: str = 'short',
                 normalize: bool = True) -> torch.Tensor:
    """Text embeddings (B, D) of ``walk_type`` (``'short'``, ``'box'``, ``'long'``).

    Args:
        model (FGCLIP2): The model.
        texts (str | list[str]): English or Chinese texts.
        tokenizer (FGCLIP2Tokenizer | str): A tokenizer or its folder (a checkpoint folder
            holds the tokenizer files, so its path works; texts are then padded to the
            model's walk lengths).
        walk_type (str): Defaults to ``'short'`` (use ``'box'`` for region phrases,
            ``'long'`` for long captions).
        normalize (bool): L2-normalise. Defaults to True.
    """
    ids = _tokenizer(tokenizer, model)(_as_list(texts), walk_type=walk_type)
    emb = model.get_text_features(ids.to(_device_dtype(model)[0]), walk_type)
    return F.normalize(emb.float(), dim=-1) if normalize else emb


@torch.inference_mode()
def encode_regions(model,
                   images,
                   boxes,
                   max_num_patches: Optional[int] = None,
                   normalize: bool = True) -> List[torch.Tensor]:
    """Region embeddings for pixel boxes.

    Args:
        model (FGCLIP2): The model.
        images (image | list): One image or a list.
        boxes (array | list): Per image, (K_i, 4) ``x1, y1, x2, y2`` pixel boxes of the
            original image (one array when ``images`` is a single image).
        max_num_patches (int, optional): Patch budget (default: dynamic bucket).
        normalize (bool): L2-normalise. Defaults to True.

    Returns:
        list[Tensor]: Per image (K_i, D).
    """
    single = not isinstance(images, (list, tuple))
    batch = prepare_images(images, max_num_patches)
    regions = [boxes] if single else list(boxes)
    feats = model.get_image_region_features(*_vision_inputs(model, batch), batch['image_sizes'],
                                            regions)
    return [F.normalize(f.float(), dim=-1) if normalize else f for f in feats]


@torch.inference_mode()
def dense_feature_map(model,
                      image,
                      max_num_patches: Optional[int] = None,
                      normalize: bool = True) -> torch.Tensor:
    """Dense features of one image as an (h, w, D) grid."""
    batch = prepare_images(image, max_num_patches)
    dense = model.get_image_dense_feature(*_vision_inputs(model, batch))[0]
    h, w = batch['spatial_shapes'][0].tolist()
    grid = dense[:h * w].reshape(h, w, -1)
    return F.normalize(grid.float(), dim=-1) if normalize else grid


@torch.inference_mode()
def match_probs(model,
                images,
                texts,
                tokenizer,
                walk_type: str = 'short',
                max_num_patches: Optional[int] = None) -> torch.Tensor:
    """``sigmoid(exp(t) cos + b)`` between images and texts, shape (B_img, B_txt)."""
    img = encode_images(model, images, max_num_patches, normalize=False)
    txt = encode_texts(model, texts, tokenizer, walk_type, normalize=False)
    return torch.sigmoid(model.calibrated_logits(img, txt).float())
