"""``FGCLIP2OnnxModel``: run an exported FG-CLIP 2 with onnxruntime, numpy, Pillow and the
``tokenizers`` library only (no torch, no transformers, no mmengine).

The vocabulary is free at run time: texts are tokenised here (lower-cased, the tokenizer's
own special tokens, truncated and right-padded to the walk's length, as
:class:`~fgclip2_mm.datasets.FGCLIP2Tokenizer`) and encoded by the exported text graph.
Images go through the SigLIP 2 NaFlex preprocessing (aspect-preserving resize under a patch
budget with PIL bilinear, 1/255, mean = std = 0.5, (row, column, channel) patches, as
:func:`~fgclip2_mm.utils.naflex_patchify`, tested bit for bit).

Example::

    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    model = FGCLIP2OnnxModel('work_dirs/fgclip2_onnx')
    out = model.encode_images(['street.jpg'], boxes=[[[10, 20, 200, 220]]])
    names = model.encode_texts(['red car', '红色的车', 'bicycle'], walk='box')
    probs = model.classify(out['region_features'][0], names)   # (1, 3), rows sum to 1
"""
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

META_FILE = 'fgclip2_onnx.json'
ImageLike = Union[str, np.ndarray, 'PIL.Image.Image']  # noqa: F821


def _check_budget(max_num_patches) -> int:
    if isinstance(max_num_patches, bool) or not isinstance(max_num_patches, int) or \
            max_num_patches <= 0:
        raise ValueError(f'max_num_patches must be a positive int, got {max_num_patches!r}')
    return max_num_patches


def naflex_size(height: int, width: int, patch_size: int, max_num_patches: int) -> tuple:
    """The NaFlex target size (``get_image_size_for_max_num_patches`` of SigLIP 2)."""
    def scaled(scale: float, size: int) -> int:
        return max(patch_size, math.ceil(size * scale / patch_size) * patch_size)

    lo, hi = 1e-6, 100.0
    while hi - lo >= 1e-5:
        mid = (lo + hi) / 2
        if (scaled(mid, height) / patch_size) * (scaled(mid, width) / patch_size) \
                <= max_num_patches:
            lo = mid
        else:
            hi = mid
    return scaled(lo, height), scaled(lo, width)


def load_rgb(image: ImageLike, index: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 from a path, a PIL image or an RGB uint8 array (named on error)."""
    from PIL import Image, UnidentifiedImageError
    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise FileNotFoundError(f'image {index}: file not found: {image}')
        try:
            with Image.open(image) as pil:
                return np.asarray(pil.convert('RGB'))
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f'image {index}: cannot read {image}: {exc}') from None
    if isinstance(image, Image.Image):
        return np.asarray(image.convert('RGB'))
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and \
            image.dtype == np.uint8 and image.shape[0] > 0 and image.shape[1] > 0:
        return image
    raise ValueError(f'image {index}: expected a path, a PIL image or an (H, W, 3) uint8 '
                     f'array, got {type(image).__name__}')


def patchify(image: np.ndarray, patch_size: int, max_num_patches: int) -> tuple:
    """NaFlex preprocessing of one RGB uint8 image: ``(patches (h*w, p*p*3) float32,
    (h, w))``."""
    from PIL import Image
    target_h, target_w = naflex_size(image.shape[0], image.shape[1], patch_size,
                                     max_num_patches)
    resized = np.asarray(Image.fromarray(image).resize((target_w, target_h),
                                                       Image.Resampling.BILINEAR))
    values = ((np.arange(256, dtype=np.float64) * (1 / 255)).astype(np.float32) -
              np.float32(0.5)) / np.float32(0.5)
    pixels = values[resized]
    h, w = target_h // patch_size, target_w // patch_size
    patches = pixels.reshape(h, patch_size, w, patch_size, 3).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(patches.reshape(h * w, -1)), (h, w)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class FGCLIP2OnnxModel:
    """An exported FG-CLIP 2 folder (``tools/deployment/export_onnx.py``) on onnxruntime.

    Args:
        folder (str): The export folder (``fgclip2_onnx.json``, the ``.onnx`` files and the
            tokenizer files).
        providers (Sequence[str]): onnxruntime execution providers. Defaults to CPU.
    """

    def __init__(self, folder: str, providers: Sequence[str] = ('CPUExecutionProvider', )):
        meta_path = os.path.join(folder, META_FILE)
        if not os.path.isfile(meta_path):
            raise FileNotFoundError(f'{folder!r} is not an FG-CLIP 2 ONNX export (no '
                                    f'{META_FILE}); write one with tools/deployment/'
                                    'export_onnx.py')
        with open(meta_path, encoding='utf-8') as f:
            self.meta = json.load(f)
        if self.meta.get('format') != 'fgclip2_onnx':
            raise ValueError(f'{meta_path}: "format" must be "fgclip2_onnx"')
        self.folder = folder
        self.providers = list(providers)
        self._sessions: Dict[str, object] = {}
        from tokenizers import Tokenizer
        self._tokenizer = Tokenizer.from_file(os.path.join(folder, 'tokenizer.json'))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.pad_token_id = self._pad_id()

    def _pad_id(self) -> int:
        path = os.path.join(self.folder, 'tokenizer_config.json')
        pad = '<pad>'
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                token = json.load(f).get('pad_token', pad)
            pad = token.get('content', pad) if isinstance(token, dict) else token
        pad_id = self._tokenizer.token_to_id(pad)
        if pad_id is None:
            raise ValueError(f'{self.folder}: the tokenizer has no pad token {pad!r}')
        return pad_id

    def _session(self, name: str):
        if name not in self._sessions:
            import onnxruntime
            self._sessions[name] = onnxruntime.InferenceSession(
                os.path.join(self.folder, name), providers=self.providers)
        return self._sessions[name]

    @property
    def walks(self) -> List[str]:
        """list[str]: The text walks of this export."""
        return list(self.meta['text_encoders'])

    # ----------------------------------------------------------------------------- text
    def tokenize(self, texts: Sequence[str], walk: str = 'box') -> np.ndarray:
        """int64 ids (T, L) of ``walk``'s length, right-padded (the training convention)."""
        if walk not in self.meta['text_encoders']:
            raise ValueError(f'walk {walk!r} was not exported; this folder has {self.walks}')
        if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
            raise ValueError('texts must be a non-empty list of str (the vocabulary)')
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f'text {i} must be a non-empty str, got {text!r}')
        length = self.meta['text_encoders'][walk]['length']
        lower = self.meta.get('lowercase', True)
        encoded = self._tokenizer.encode_batch([t.lower() if lower else t for t in texts])
        ids = np.full((len(texts), length), self.pad_token_id, dtype=np.int64)
        for i, enc in enumerate(encoded):
            row = enc.ids[:length]
            ids[i, :len(row)] = row
        return ids

    def encode_texts(self, texts: Sequence[str], walk: str = 'box',
                     normalize: bool = True) -> np.ndarray:
        """Text embeddings (T, D) of ``walk`` (L2-normalised unless ``normalize=False``)."""
        ids = self.tokenize(texts, walk)
        session = self._session(self.meta['text_encoders'][walk]['file'])
        out = session.run(None, {'input_ids': ids})[0]
        return _normalise(out) if normalize else out

    # ---------------------------------------------------------------------------- image
    def preprocess(self, images: Sequence[ImageLike],
                   max_num_patches: Optional[int] = None) -> tuple:
        """NaFlex batch: ``(inputs dict of numpy arrays, original (H, W) per image)``."""
        if isinstance(images, (str, np.ndarray)) or not isinstance(images, Sequence) \
                or not images:
            raise ValueError('images must be a non-empty list of paths, PIL images or arrays')
        budget = _check_budget(max_num_patches or self.meta['max_num_patches'])
        items, sizes = [], []
        for i, image in enumerate(images):
            rgb = load_rgb(image, i)
            items.append(patchify(rgb, self.meta['patch_size'], budget))
            sizes.append(rgb.shape[:2])
        num = max(p.shape[0] for p, _ in items)
        pixels = np.zeros((len(items), num, items[0][0].shape[1]), np.float32)
        mask = np.zeros((len(items), num), np.int64)
        for i, (patches, _) in enumerate(items):
            pixels[i, :len(patches)] = patches
            mask[i, :len(patches)] = 1
        shapes = np.array([s for _, s in items], dtype=np.int64)
        return dict(pixel_values=pixels, pixel_attention_mask=mask,
                    spatial_shapes=shapes), sizes

    @staticmethod
    def _boxes(boxes, sizes: List[tuple]) -> tuple:
        """Pixel xyxy boxes per image -> ([0, 1] boxes (B, K, 4), counts); checked."""
        if boxes is None:
            boxes = [[] for _ in sizes]
        if len(boxes) != len(sizes):
            raise ValueError(f'boxes has {len(boxes)} entries for {len(sizes)} images')
        counts = [len(b) for b in boxes]
        out = np.zeros((len(sizes), max(max(counts), 1), 4), np.float32)
        out[..., 2:] = 1.0  # padding slots: the whole image (ignored)
        for i, ((height, width), image_boxes) in enumerate(zip(sizes, boxes)):
            for k, box in enumerate(image_boxes):
                box = np.asarray(box, dtype=np.float64)
                if box.shape != (4, ) or not np.isfinite(box).all():
                    raise ValueError(f'image {i}, box {k}: expected 4 finite numbers x1, y1, '
                                     f'x2, y2, got {box.tolist()}')
                x1, y1, x2, y2 = box
                if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
                    raise ValueError(f'image {i}, box {k}: {box.tolist()} is empty or outside '
                                     f'the {width} x {height} image')
                out[i, k] = (x1 / width, y1 / height, x2 / width, y2 / height)
        return out, counts

    def encode_images(self, images: Sequence[ImageLike], boxes=None,
                      max_num_patches: Optional[int] = None, normalize: bool = True) -> dict:
        """Encode images (and boxes) in one batch.

        Args:
            images (Sequence): Paths, PIL images or (H, W, 3) uint8 RGB arrays.
            boxes (Sequence, optional): Per image, a list of pixel ``x1, y1, x2, y2`` boxes of
                the original image (inside it).
            max_num_patches (int, optional): Patch budget (default: the export's).
            normalize (bool): L2-normalise the embeddings. Defaults to True.

        Returns:
            dict: ``image_embeds`` (B, D), ``region_features`` (list of (K_i, D)),
            ``dense_features`` (list of (h, w, D) grids) and ``spatial_shapes`` (B, 2).
        """
        inputs, sizes = self.preprocess(images, max_num_patches)
        inputs['boxes'], counts = self._boxes(boxes, sizes)
        image, dense, regions = self._session(self.meta['image_encoder']).run(None, inputs)
        norm = _normalise if normalize else (lambda x: x)
        grids = [norm(d[:h * w].reshape(h, w, -1))
                 for d, (h, w) in zip(dense, inputs['spatial_shapes'])]
        return dict(image_embeds=norm(image), spatial_shapes=inputs['spatial_shapes'],
                    region_features=[norm(r[:k]) for r, k in zip(regions, counts)],
                    dense_features=grids)

    # -------------------------------------------------------------------------- scores
    def match_probs(self, image_embeds: np.ndarray, text_embeds: np.ndarray) -> np.ndarray:
        """Calibrated match probabilities ``sigmoid(exp(t) cos + b)`` (B, T) of images and
        short-walk texts (both L2-normalised)."""
        logits = image_embeds @ text_embeds.T * math.exp(self.meta['logit_scale']) + \
            self.meta['logit_bias']
        return 1 / (1 + np.exp(-logits))

    @staticmethod
    def classify(embeds: np.ndarray, text_embeds: np.ndarray, scale: float = 100.0) -> np.ndarray:
        """Softmax over a vocabulary of ``scale * cos`` (the evaluation's region-classifier
        temperature), (K, T); both inputs L2-normalised."""
        logits = scale * (embeds @ text_embeds.T)
        logits -= logits.max(-1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(-1, keepdims=True)
