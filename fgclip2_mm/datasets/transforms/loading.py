"""``FGCLIP2LoadImage``: a PIL image loader with clear errors and a pixel cap (no mmcv)."""
import io
import os.path as osp
import warnings
from typing import Optional, Tuple

import numpy as np
from mmengine import fileio

from ...registry import TRANSFORMS

#: PIL's own ``Image.MAX_IMAGE_PIXELS`` (1024 * 1024 * 1024 // 4 // 3): far above any
#: training image (FineHARD's are <= a few Mpx), far below a decompression bomb.
DEFAULT_MAX_PIXELS = 89_478_485
#: EXIF orientations that swap width and height (transpose, 90 and 270 degree rotations).
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112
#: 16-bit grey modes of PIL (a 16-bit grey PNG opens as ``I;16``).
_MODES_16BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N')


class ImageTooLargeError(OSError):
    """An image has more pixels than the loader's ``max_pixels`` (counted as
    ``too_large`` by the FG-CLIP 2 record datasets)."""


def _gray16_to_rgb8(gray: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 65535] -> (H, W, 3) uint8, ``round(v * 255 / 65535)``."""
    scaled = (gray.astype(np.uint32) * 255 + 32767) // 65535
    return np.repeat(scaled.astype(np.uint8)[..., None], 3, axis=2)


@TRANSFORMS.register_module()
class FGCLIP2LoadImage:
    """Load ``results['img_path']`` as an RGB uint8 array with PIL.

    Decoding follows the reference (``Image.open(path).convert('RGB')``): palette, grey and
    CMYK images become RGB and an alpha channel is dropped. 16-bit grey images (``I;16``
    PNGs, where ``convert('RGB')`` would clip every value above 255 to white) are scaled
    to 8 bits (``round(v * 255 / 65535)``); 32-bit integer and float images are refused.
    The bytes are read through ``mmengine.fileio.get`` so ``backend_args`` can point at
    remote storage.

    Every failure names the file: a missing file raises ``FileNotFoundError``; an image
    with more than ``max_pixels`` pixels raises :class:`ImageTooLargeError` (an
    ``OSError``) from its header, before any decoding; an unreadable, truncated or
    non-image file raises ``OSError`` (nothing is silently replaced by a black image,
    unlike the reference collator, spec section 3.7 #17). PIL's
    ``DecompressionBombWarning`` never leaks: the cap decides.

    :meth:`read_size` gives the size of the image *as this loader returns it* (EXIF
    orientation applied when ``exif_transpose``) from the header only; the record datasets
    use the pipeline's loader for the NaFlex bucketing sizes, so both always agree.

    Required keys: ``img_path``.

    Added keys: ``img`` ((H, W, 3) uint8 **RGB**, unlike mmcv's BGR loader), ``img_shape``
    and ``ori_shape`` (both ``(H, W)``).

    Args:
        exif_transpose (bool): Apply the EXIF orientation tag before converting. The
            reference does not, so the default is False.
        max_pixels (int, optional): Largest ``width * height`` accepted. Defaults to
            :data:`DEFAULT_MAX_PIXELS` (89.5 M, PIL's limit); None: no cap of ours (PIL
            still refuses images above twice its ``Image.MAX_IMAGE_PIXELS``, which then
            count as too large too).
        backend_args (dict, optional): Passed to ``mmengine.fileio.get``.
    """

    def __init__(self, exif_transpose: bool = False,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 backend_args: Optional[dict] = None) -> None:
        if max_pixels is not None and (isinstance(max_pixels, bool) or
                                       not isinstance(max_pixels, int) or max_pixels < 1):
            raise ValueError(f'max_pixels must be None or a positive int, got {max_pixels!r}')
        self.exif_transpose = bool(exif_transpose)
        self.max_pixels = max_pixels
        self.backend_args = None if backend_args is None else dict(backend_args)

    def _read(self, path: str) -> bytes:
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'FGCLIP2LoadImage: image file not found: {path!r}') from err
        except OSError as err:
            raise OSError(f'FGCLIP2LoadImage: cannot read image file {path!r}: {err}') from err

    def _open(self, source, path: str):
        """``Image.open`` with the pixel cap applied to the header (no decoding yet)."""
        from PIL import Image  # lazy: importing the package needs no PIL
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            try:
                pil = Image.open(source)
            except Image.DecompressionBombError as err:
                raise ImageTooLargeError(f'FGCLIP2LoadImage: image {path!r} is too large for '
                                         f'PIL: {err}') from err
        width, height = pil.size
        if self.max_pixels is not None and width * height > self.max_pixels:
            pil.close()
            raise ImageTooLargeError(
                f'FGCLIP2LoadImage: image {path!r} has {width} x {height} = {width * height} '
                f'pixels, more than max_pixels={self.max_pixels} (a decompression bomb or a '
                'scan; raise max_pixels to load it)')
        return pil

    def read_size(self, path: str) -> Tuple[int, int]:
        """``(height, width)`` of the image at ``path`` as :meth:`transform` returns it,
        from the header only (EXIF orientation applied when ``exif_transpose``).

        Raises:
            OSError: As :meth:`transform` (missing, unreadable or too large).
        """
        from PIL import Image
        source = path if osp.isfile(path) and not self.backend_args else \
            io.BytesIO(self._read(path))
        try:
            with self._open(source, path) as pil:
                width, height = pil.size
                if self.exif_transpose and pil.getexif().get(
                        _EXIF_ORIENTATION) in _SWAPPING_ORIENTATIONS:
                    width, height = height, width
        except ImageTooLargeError:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise OSError(f'FGCLIP2LoadImage: cannot read the header of {path!r}: {err}') \
                from err
        return int(height), int(width)

    def _decode(self, data: bytes, path: str) -> np.ndarray:
        from PIL import Image, ImageOps  # lazy: importing the package needs no PIL
        try:
            with self._open(io.BytesIO(data), path) as pil:
                pil.load()
                if self.exif_transpose:
                    pil = ImageOps.exif_transpose(pil)
                if pil.mode in _MODES_16BIT:
                    return _gray16_to_rgb8(np.asarray(pil))
                if pil.mode in ('I', 'F'):
                    raise ValueError(f'{"32-bit integer" if pil.mode == "I" else "float"} '
                                     f'pixels (PIL mode {pil.mode}) are not supported; store '
                                     '8- or 16-bit images')
                return np.asarray(pil.convert('RGB'))
        except ImageTooLargeError:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise OSError(f'FGCLIP2LoadImage: cannot decode image file {path!r} (not an image, '
                          f'unsupported or truncated): {err}') from err

    def transform(self, results: dict) -> dict:
        """Load the image.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict: The same dict with ``img``, ``img_shape`` and ``ori_shape``.
        """
        if 'img_path' not in results:
            raise KeyError(f'FGCLIP2LoadImage: results has no "img_path" key '
                           f'(keys: {sorted(results)})')
        path = str(results['img_path'])
        image = self._decode(self._read(path), path)
        results['img'] = image
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        return results

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(exif_transpose={self.exif_transpose}, '
                f'max_pixels={self.max_pixels}, backend_args={self.backend_args})')
