"""Images given to the inference APIs: paths, PIL images or uint8 arrays, checked up front.

Every image of a call is *inspected* before any work starts (a missing path, a file PIL
cannot identify, a float or 16-bit array, a wrong shape: one error naming the image's
index and file), then *loaded* one batch at a time, so a list of ten thousand paths is never
decoded into memory at once. Files are decoded by
:class:`fgclip2_mm.datasets.transforms.FGCLIP2LoadImage`, the training loader, so
inference sees the pixels training saw.
"""
import os
import os.path as osp
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np

#: Suffixes listed from a folder (the same set as mmengine's ``IMG_EXTENSIONS`` plus WebP).
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')
FLOAT_HINT = ('float arrays are ambiguous ([0, 1] or [0, 255]) and are not cast silently; '
              'pass uint8 RGB, e.g. (img * 255).round().astype(np.uint8) for [0, 1] floats')


def is_path(source) -> bool:
    """A ``str`` or ``os.PathLike`` (``pathlib.Path``)."""
    return isinstance(source, (str, os.PathLike))


def _label(index: int, source) -> str:
    return f'image {index} ({os.fspath(source)!r})' if is_path(source) else f'image {index}'


def _type_error(label: str, source) -> TypeError:
    return TypeError(f'{label}: expected a file path (str / pathlib.Path), a PIL image or an '
                     f'(H, W, 3) uint8 array, got {type(source).__name__}')


def check_array(image: np.ndarray, label: str = 'image') -> np.ndarray:
    """An (H, W, 3) or (H, W) uint8 array as (H, W, 3) uint8 RGB; ValueError otherwise.

    Args:
        image (np.ndarray): The array.
        label (str): How the error names it. Defaults to ``'image'``.
    """
    if np.issubdtype(image.dtype, np.floating):
        raise ValueError(f'{label}: {image.dtype} array; {FLOAT_HINT}')
    if image.dtype != np.uint8:
        raise ValueError(f'{label}: {image.dtype} array; expected uint8 RGB (0-255); scale '
                         'other integer types to 8 bits first')
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'{label}: array of shape {image.shape}; expected (H, W, 3) RGB or '
                         '(H, W) grey')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{label}: empty array of shape {image.shape}')
    return image


def inspect_image(source, index: int = 0) -> Tuple[int, int]:
    """``(height, width)`` of one image without decoding a file (its header is read).

    Args:
        source (str | Path | PIL.Image.Image | np.ndarray): The image.
        index (int): Its position in the call, for the error. Defaults to 0.

    Raises:
        FileNotFoundError: A path that is not a file.
        ValueError: A file PIL cannot identify, an array of the wrong dtype or shape.
        TypeError: Anything else.
    """
    label = _label(index, source)
    if is_path(source):
        path = os.fspath(source)
        if osp.isdir(path):
            raise ValueError(f'{label}: is a folder; pass the folder itself as the images '
                             'argument (where a list is accepted) or list its files')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{label}: image file not found')
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(path) as pil:
                width, height = pil.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ValueError(f'{label}: cannot read the file as an image (not an image, '
                             f'unsupported or damaged): {err}') from err
        return int(height), int(width)
    if isinstance(source, np.ndarray):
        return tuple(int(v) for v in check_array(source, label).shape[:2])
    if hasattr(source, 'convert') and hasattr(source, 'size'):  # PIL image
        width, height = source.size
        if not width or not height:
            raise ValueError(f'{label}: empty PIL image of size {source.size}')
        return int(height), int(width)
    raise _type_error(label, source)


def load_image(source, index: int = 0) -> np.ndarray:
    """One image as an (H, W, 3) uint8 RGB array (see :func:`inspect_image` for errors).

    Files go through ``FGCLIP2LoadImage`` (which names the file when decoding fails).
    """
    if is_path(source):
        from fgclip2_mm.datasets.transforms.loading import FGCLIP2LoadImage
        try:
            return FGCLIP2LoadImage()(dict(img_path=os.fspath(source)))['img']
        except OSError as err:  # FileNotFoundError included: both name the file
            raise type(err)(f'image {index}: {err}') from err
    if isinstance(source, np.ndarray):
        return np.ascontiguousarray(check_array(source, _label(index, source)))
    if hasattr(source, 'convert'):
        return np.asarray(source.convert('RGB'))
    raise _type_error(_label(index, source), source)


def list_images(folder: Union[str, Path]) -> List[str]:
    """The image files of a folder (by suffix, sorted); ValueError when it holds none.

    Args:
        folder (str | Path): The folder (not recursive).
    """
    folder = os.fspath(folder)
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_SUFFIXES) and osp.isfile(osp.join(folder, n)))
    if not names:
        raise ValueError(f'input folder {folder!r} holds no image file (suffixes '
                         f'{", ".join(IMAGE_SUFFIXES)})')
    return [osp.join(folder, n) for n in names]


def as_image_list(images) -> Tuple[list, bool]:
    """``(list of images, single)``: one image or a folder path becomes a list.

    A path to a folder is expanded with :func:`list_images`; ``single`` is True when one
    image (not a list, not a folder) was given.
    """
    if isinstance(images, (list, tuple)):
        items = list(images)
        if not items:
            raise ValueError('no image given (an empty list)')
        return items, False
    if is_path(images) and osp.isdir(os.fspath(images)):
        return list_images(images), False
    return [images], True


def inspect_images(images: Sequence) -> List[Tuple[int, int]]:
    """``(height, width)`` of every image, raising on the first bad one (named)."""
    return [inspect_image(source, index) for index, source in enumerate(images)]
