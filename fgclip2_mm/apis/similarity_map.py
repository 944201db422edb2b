"""Text-to-image similarity maps: where in an image does each text match?

The FG-CLIP 2 dense path (spec §1.3): every patch's dense feature (the dense head, each
token querying the whole image) against the text's **box-walk** embedding (the walk region
phrases are trained with), as a cosine per patch, bilinearly up-sampled to the image.
:func:`save_similarity_overlays` draws one picture per text: the heat map over the image,
a colour bar in cosine units and the text as title. A title the fonts cannot draw (Chinese
without a CJK font on the system) becomes ``text <index>`` and the texts go to a UTF-8
``labels.txt`` next to the pictures.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .images import inspect_image, load_image
from .inference import _check_texts, dense_feature_map, encode_texts

LABELS_FILE = 'labels.txt'


@torch.inference_mode()
def similarity_maps(model,
                    image,
                    texts: Sequence[str],
                    tokenizer,
                    walk_type: str = 'box',
                    max_num_patches: Optional[int] = None,
                    cache_dir: Optional[str] = None) -> dict:
    """Cosine between each text and every patch of one image.

    Args:
        model (FGCLIP2): The model.
        image (str | Path | PIL.Image | np.ndarray): The image.
        texts (Sequence[str]): English or Chinese texts (at least one).
        tokenizer (FGCLIP2Tokenizer | str): Tokenizer or its folder (a checkpoint folder).
        walk_type (str): Text walk. Defaults to ``'box'`` (FG-CLIP 2's dense/region path).
        max_num_patches (int, optional): Patch budget (default: the image's bucket; the
            reference's dense demo uses up to 16384 on a GPU).
        cache_dir (str, optional): Text-embedding cache (see :func:`encode_texts`).

    Returns:
        dict: ``maps`` (T, H, W) float32 numpy cosines at image resolution, ``grid``
        (T, h, w) the same per patch, ``image`` the (H, W, 3) uint8 RGB image.
    """
    texts = _check_texts(texts)
    inspect_image(image)
    rgb = load_image(image)
    dense = dense_feature_map(model, rgb, max_num_patches)  # (h, w, D), normalised
    emb = encode_texts(model, texts, tokenizer, walk_type, cache_dir=cache_dir)  # (T, D)
    grid = torch.einsum('hwd,td->thw', dense, emb.to(dense.device))
    maps = F.interpolate(grid[None], size=rgb.shape[:2], mode='bilinear',
                         align_corners=False)[0]
    return dict(maps=maps.cpu().numpy(), grid=grid.cpu().numpy(), image=rgb)


def _file_stem(index: int, text: str) -> str:
    slug = re.sub(r'[^0-9A-Za-z]+', '_', text).strip('_')[:40]
    return f'{index:02d}_{slug}' if slug else f'{index:02d}'


def _title_font(text: str, font_path: Optional[str]) -> Optional[str]:
    """A font file that draws ``text`` ('' = matplotlib's default does), or None."""
    from matplotlib import font_manager
    from fgclip2_mm.visualization.fonts import draws_text, find_cjk_font
    if draws_text(font_manager.findfont(font_manager.FontProperties()), text):
        return ''
    font_path = font_path or find_cjk_font()
    return font_path if font_path and draws_text(font_path, text) else None


def save_similarity_overlays(out_dir: str,
                             image: np.ndarray,
                             texts: Sequence[str],
                             maps: np.ndarray,
                             alpha: float = 0.5,
                             cmap: str = 'jet',
                             font_path: Optional[str] = None) -> dict:
    """One PNG per text: the map over the image, a colour bar and the text as title.

    Args:
        out_dir (str): Output folder (created).
        image (np.ndarray): (H, W, 3) uint8 RGB.
        texts (Sequence[str]): One per map.
        maps (np.ndarray): (T, H, W) cosines (:func:`similarity_maps`).
        alpha (float): Heat-map opacity in [0, 1]. Defaults to 0.5.
        cmap (str): matplotlib colour map. Defaults to ``'jet'``.
        font_path (str, optional): A font for non-Latin titles (default: a system CJK font).

    Returns:
        dict: ``pictures`` (one path per text), ``labels_file`` (path or None when every
        title was drawn) and ``fallback`` (indices of the texts drawn as ``text <i>``).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must lie in [0, 1], got {alpha}')
    if len(texts) != len(maps):
        raise ValueError(f'{len(texts)} texts for {len(maps)} maps')
    os.makedirs(out_dir, exist_ok=True)
    height, width = image.shape[:2]
    pictures: List[str] = []
    fallback: List[int] = []
    for index, (text, sim) in enumerate(zip(texts, maps)):
        font = _title_font(text, font_path)
        if font is None:
            fallback.append(index)
        scale = 5.0 / max(height, width)
        fig, ax = plt.subplots(figsize=(max(width * scale, 2.5) + 1.2, max(height * scale, 2.0)
                                        + 0.6))
        ax.imshow(image)
        heat = ax.imshow(sim, cmap=cmap, alpha=alpha, extent=(0, width, height, 0),
                         interpolation='bilinear')
        fig.colorbar(heat, ax=ax, fraction=0.046, pad=0.04, label='cosine similarity')
        props = FontProperties(fname=font) if font else None
        ax.set_title(text if font is not None else f'text {index}', fontproperties=props,
                     fontsize=10)
        ax.axis('off')
        fig.tight_layout()
        path = osp.join(out_dir, _file_stem(index, text) + '.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        pictures.append(path)
    labels_file = None
    if fallback:
        labels_file = osp.join(out_dir, LABELS_FILE)
        with open(labels_file, 'w', encoding='utf-8') as f:
            f.write('# no font with these glyphs was found: picture title -> text\n')
            for index, (text, path) in enumerate(zip(texts, pictures)):
                f.write(f'text {index}\t{osp.basename(path)}\t{text}\n')
    return dict(pictures=pictures, labels_file=labels_file, fallback=fallback)
