"""``FGCLIP2LoadImage``: a PIL image loader with clear errors (no mmcv)."""
import io
from typing import Optional

import numpy as np
from mmengine import fileio

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class FGCLIP2LoadImage:
    """Load ``results['img_path']`` as an RGB uint8 array with PIL.

    Decoding follows the reference (``Image.open(path).convert('RGB')``): palette, grey and
    CMYK images become RGB and an alpha channel is dropped. The bytes are read through
    ``mmengine.fileio.get`` so ``backend_args`` can point at remote storage.

    Every failure names the file: a missing file raises ``FileNotFoundError``; an unreadable,
    truncated or non-image file raises ``OSError`` (nothing is silently replaced by a black
    image, unlike the reference collator, spec section 3.7 #17).

    Required keys: ``img_path``.

    Added keys: ``img`` ((H, W, 3) uint8 **RGB**, unlike mmcv's BGR loader), ``img_shape``
    and ``ori_shape`` (both ``(H, W)``).

    Args:
        exif_transpose (bool): Apply the EXIF orientation tag before converting. The
            reference does not, so the default is False.
        backend_args (dict, optional): Passed to ``mmengine.fileio.get``.
    """

    def __init__(self, exif_transpose: bool = False, backend_args: Optional[dict] = None) -> None:
        self.exif_transpose = bool(exif_transpose)
        self.backend_args = None if backend_args is None else dict(backend_args)

    def _read(self, path: str) -> bytes:
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'FGCLIP2LoadImage: image file not found: {path!r}') from err
        except OSError as err:
            raise OSError(f'FGCLIP2LoadImage: cannot read image file {path!r}: {err}') from err

    def _decode(self, data: bytes, path: str) -> np.ndarray:
        from PIL import Image, ImageOps  # lazy: importing the package needs no PIL
        try:
            with Image.open(io.BytesIO(data)) as pil:
                pil.load()
                if self.exif_transpose:
                    pil = ImageOps.exif_transpose(pil)
                return np.asarray(pil.convert('RGB'))
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
                f'backend_args={self.backend_args})')
