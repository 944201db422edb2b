"""High-level FG-CLIP 2 inference on image files, PIL / numpy images and EN / ZH strings.

Preprocessing is :func:`fgclip2_mm.utils.naflex_patchify` (SigLIP 2 NaFlex,
spec §8) with FG-CLIP 2's dynamic patch budget of each image (as the reference's
``determine_max_value`` per image) unless one is given; texts go through
:class:`fgclip2_mm.datasets.FGCLIP2Tokenizer` (lower-cased, right-padded to the model's
walk lengths). Lists are batched by NaFlex bucket (:func:`~.batching.plan_batches`): a
batched result equals the one-by-one result up to float rounding. Every image and box is
checked before any work starts (:mod:`.images`, :mod:`.boxes`). Every helper runs under
``torch.inference_mode`` on the model's device and dtype.
"""
import os
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from .batching import Progress, plan_batches
from .boxes import check_boxes
from .images import as_image_list, inspect_images, is_path, load_image

ImageLike = Union[str, os.PathLike, 'PIL.Image.Image', np.ndarray]  # noqa: F821
#: Images per forward of the vision tower. Defaults of the public helpers.
DEFAULT_BATCH_SIZE = 16
TEXT_BATCH_SIZE = 256


def _device_dtype(model) -> tuple:
    param = next(model.parameters())
    return param.device, param.dtype


def _patch_size(model) -> int:
    return int(getattr(model.vision_backbone, 'patch_size', 16))


def prepare_images(images: Union[ImageLike, Sequence[ImageLike]],
                   max_num_patches: Optional[int] = None,
                   patch_size: int = 16) -> dict:
    """Patchify and collate images into one batch under one budget.

    Args:
        images (str | Path | PIL.Image | np.ndarray | list): One image or a list; arrays are
            (H, W, 3) uint8 RGB, paths are decoded as in training.
        max_num_patches (int, optional): Patch budget; by default FG-CLIP 2's bucket of the
            largest image (128 ... 1024, spec §8), as the training collator.
        patch_size (int): Patch side. Defaults to 16.

    Returns:
        dict: ``pixel_values`` (B, N, 3*p*p), ``pixel_attention_mask`` (B, N),
        ``spatial_shapes`` (B, 2) and ``image_sizes`` (B, 2) = original (height, width).
    """
    from fgclip2_mm.utils.naflex import select_patch_budget_batch
    items, _ = as_image_list(images)
    sizes = inspect_images(items)
    budget = max_num_patches or select_patch_budget_batch(sizes, patch_size)
    return _collate([load_image(item, i) for i, item in enumerate(items)], budget, patch_size)


def _collate(arrays: List[np.ndarray], budget: int, patch_size: int) -> dict:
    from fgclip2_mm.utils.naflex import collate_naflex, naflex_patchify
    batch = collate_naflex([naflex_patchify(a, budget, patch_size) for a in arrays])
    batch['image_sizes'] = torch.tensor([a.shape[:2] for a in arrays], dtype=torch.long)
    return batch


def _vision_inputs(model, batch: dict) -> tuple:
    device, dtype = _device_dtype(model)
    return (batch['pixel_values'].to(device, dtype), batch['pixel_attention_mask'].to(device),
            batch['spatial_shapes'].to(device))


def run_batched(model, items: list, fn: Callable, batch_size: int = DEFAULT_BATCH_SIZE,
                max_num_patches: Optional[int] = None, progress: Optional[bool] = None,
                sizes: Optional[list] = None) -> list:
    """Run ``fn(batch, indices)`` over NaFlex-bucketed batches of ``items``.

    Args:
        model (FGCLIP2): The model (its patch size is used).
        items (list): Images (paths, PIL images or arrays), already checked or not.
        fn (Callable): ``fn(batch, indices) -> sequence`` of one result per index; ``batch``
            is a :func:`prepare_images` dict.
        batch_size (int): Most images per forward. Defaults to 16.
        max_num_patches (int, optional): Fixed budget (default: each image's bucket).
        progress (bool, optional): Progress bar (None: for long lists).
        sizes (list, optional): ``(height, width)`` per item when already inspected.

    Returns:
        list: The results in the order of ``items``.
    """
    sizes = inspect_images(items) if sizes is None else sizes
    patch_size = _patch_size(model)
    results: list = [None] * len(items)
    bar = Progress(len(items), progress)
    for budget, indices in plan_batches(sizes, batch_size, max_num_patches, patch_size):
        batch = _collate([load_image(items[i], i) for i in indices], budget, patch_size)
        for index, value in zip(indices, fn(batch, indices)):
            results[index] = value
        bar.update(len(indices))
    bar.close()
    return results


def _tokenizer(tokenizer, model, lowercase: bool = True):
    """A tokenizer object; one built from a folder pads to the model's own walk lengths."""
    if is_path(tokenizer):
        from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer
        text = model.text_encoder
        return FGCLIP2Tokenizer(tokenizer, lowercase=lowercase, short_length=text.max_len,
                                long_length=text.long_len)
    return tokenizer


@torch.inference_mode()
def encode_images(model,
                  images,
                  max_num_patches: Optional[int] = None,
                  normalize: bool = True,
                  batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: Optional[bool] = None) -> torch.Tensor:
    """Global image embeddings.

    Args:
        model (FGCLIP2): The model.
        images (str | Path | PIL.Image | np.ndarray | list): One image, a list, or a folder
            of images (sorted by name).
        max_num_patches (int, optional): Fixed patch budget (default: each image's bucket).
        normalize (bool): L2-normalise. Defaults to True.
        batch_size (int): Images per forward (grouped by NaFlex bucket). Defaults to 16.
        progress (bool, optional): Progress bar on stderr (None: for lists over 64).

    Returns:
        Tensor: (B, D) in input order, fp32 when normalised.
    """
    items, _ = as_image_list(images)

    def fn(batch, _):
        return model.get_image_features(*_vision_inputs(model, batch))

    emb = torch.stack(run_batched(model, items, fn, batch_size, max_num_patches, progress))
    return F.normalize(emb.float(), dim=-1) if normalize else emb


def _check_texts(texts) -> List[str]:
    texts = list(texts) if isinstance(texts, (list, tuple)) else [texts]
    if not texts:
        raise ValueError('no text given (an empty vocabulary)')
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f'text {index}: expected a string, got {type(text).__name__}')
    return texts


@torch.inference_mode()
def encode_texts(model,
                 texts: Union[str, Sequence[str]],
                 tokenizer,
                 walk_type: str = 'short',
                 normalize: bool = True,
                 cache_dir: Optional[str] = None,
                 batch_size: int = TEXT_BATCH_SIZE) -> torch.Tensor:
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
        cache_dir (str, optional): Keep the embeddings of this text list on disk, in the
            evaluation's cache (:class:`fgclip2_mm.evaluation.TextEmbeddingCache`, keyed by
            the text tower's weights, tokenizer, texts, walk and casing): a repeated
            vocabulary costs no text-tower pass. Needs ``normalize=True``. Defaults to None.
        batch_size (int): Texts per forward. Defaults to 256.
    """
    texts = _check_texts(texts)
    if cache_dir is None:
        tok = _tokenizer(tokenizer, model)
        device = _device_dtype(model)[0]
        chunks = [
            model.get_text_features(tok(texts[s:s + batch_size], walk_type=walk_type).to(device),
                                    walk_type) for s in range(0, len(texts), batch_size)
        ]
        emb = torch.cat(chunks)
        return F.normalize(emb.float(), dim=-1) if normalize else emb
    if not normalize:
        raise ValueError('cache_dir needs normalize=True (the cache holds L2-normalised '
                         'embeddings)')
    from fgclip2_mm.text.embeddings import TextEmbeddingCache, vocabulary_embeddings
    lowercase = getattr(tokenizer, 'lowercase', True)
    tok = _tokenizer(tokenizer, model, lowercase=False)
    return vocabulary_embeddings(model, tok, texts, ('{}', ), walk=walk_type, lang='texts',
                                 lowercase=lowercase, cache=TextEmbeddingCache(cache_dir),
                                 batch_size=batch_size)


def _check_all_boxes(boxes, sizes: list, single: bool, clip: bool) -> List[torch.Tensor]:
    per_image = [boxes] if single else boxes
    if not single and (not isinstance(boxes, (list, tuple)) or len(boxes) != len(sizes)):
        count = len(boxes) if isinstance(boxes, (list, tuple)) else type(boxes).__name__
        raise ValueError(f'boxes needs one (K_i, 4) entry per image: {len(sizes)} images, '
                         f'got {count}')
    return [check_boxes(b, size, clip, i) for i, (b, size) in enumerate(zip(per_image, sizes))]


@torch.inference_mode()
def encode_regions(model,
                   images,
                   boxes,
                   max_num_patches: Optional[int] = None,
                   normalize: bool = True,
                   clip: bool = False,
                   batch_size: int = DEFAULT_BATCH_SIZE,
                   progress: Optional[bool] = None) -> List[torch.Tensor]:
    """Region embeddings for pixel boxes (RoIAlign on the dense features, spec §1.4).

    Args:
        model (FGCLIP2): The model.
        images (image | list): One image (path, PIL image or array) or a list.
        boxes (array | list): Per image, (K_i, 4) ``x1, y1, x2, y2`` pixel boxes of the
            original image (one array when ``images`` is a single image). Each box must be
            4 finite numbers with positive area inside the image (see
            :func:`~.boxes.check_boxes`); all are checked before any work starts.
        max_num_patches (int, optional): Patch budget (default: each image's bucket).
        normalize (bool): L2-normalise. Defaults to True.
        clip (bool): Clip boxes that leave the image instead of raising. Defaults to False.
        batch_size (int): Images per forward. Defaults to 16.
        progress (bool, optional): Progress bar (None: for lists over 64).

    Returns:
        list[Tensor]: Per image (K_i, D).
    """
    single = not isinstance(images, (list, tuple))
    items = list(images) if not single else [images]
    if not items:
        raise ValueError('no image given (an empty list)')
    sizes = inspect_images(items)
    regions = _check_all_boxes(boxes, sizes, single, clip)

    def fn(batch, indices):
        return model.get_image_region_features(*_vision_inputs(model, batch),
                                                batch['image_sizes'],
                                                [regions[i] for i in indices])

    feats = run_batched(model, items, fn, batch_size, max_num_patches, progress, sizes)
    return [F.normalize(f.float(), dim=-1) if normalize else f for f in feats]


@torch.inference_mode()
def dense_feature_map(model,
                      image,
                      max_num_patches: Optional[int] = None,
                      normalize: bool = True) -> torch.Tensor:
    """Dense features of one image (path, PIL image or array) as an (h, w, D) grid."""
    items, single = as_image_list(image)
    if not single:
        raise ValueError('dense_feature_map takes one image, got a list or a folder')
    batch = prepare_images(items, max_num_patches, _patch_size(model))
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
