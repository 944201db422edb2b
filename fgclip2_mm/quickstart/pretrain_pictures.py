"""Pictures of the quick-start trainings: loss curves and a region-phrase similarity map."""
from typing import Dict, Sequence

import numpy as np
import torch


def training_history(runner) -> Dict[str, list]:
    """Per-iteration training scalars (``loss*`` and others; no lr or timings) from an
    mmengine runner's message hub."""
    out = {}
    for key, buffer in runner.message_hub.log_scalars.items():
        if key.startswith('train/') and not key.endswith(('lr', 'time', 'data_time')):
            values, _ = buffer.data
            out[key[len('train/'):]] = [float(v) for v in values]
    return out


def plot_loss_curves(history: Dict[str, Sequence[float]], path: str, smooth: int = 10) -> str:
    """Plot every ``loss*`` curve of ``history`` (one value per iteration) to ``path``.

    Args:
        history (dict[str, Sequence[float]]): Per-iteration values, e.g. ``loss``,
            ``loss_region``; other keys are ignored.
        path (str): Output PNG.
        smooth (int): Moving-average window. Defaults to 10.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = sorted(k for k in history if k.startswith('loss') and len(history[k]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, group in zip(axes, (['loss'], [k for k in keys if k != 'loss'])):
        for key in group:
            values = np.asarray(history[key], dtype=np.float64)
            width = max(1, min(smooth, len(values)))
            curve = np.convolve(values, np.ones(width) / width, mode='valid')
            ax.plot(np.arange(width, len(values) + 1), curve, label=key)
        ax.set_xlabel('iteration')
        ax.set_yscale('log')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_title('total loss (moving average)')
    axes[1].set_title('loss terms (weighted)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@torch.no_grad()
def similarity_map(model, image: np.ndarray, phrases: Sequence[str], tokenizer, path: str,
                   max_num_patches: int, boxes: Sequence = ()) -> str:
    """Draw, per phrase, the cosine map between dense features and its box-walk embedding.

    Args:
        model (FGCLIP2): The model.
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        phrases (Sequence[str]): One map per phrase (e.g. the expressions of the objects).
        tokenizer (FGCLIP2Tokenizer): Tokenizer with the model's text lengths.
        path (str): Output PNG.
        max_num_patches (int): Patch budget (the training one).
        boxes (Sequence): Pixel ``x1, y1, x2, y2`` boxes drawn on the image (the objects the
            phrases describe, same order).

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from fgclip2_mm.apis.inference import dense_feature_map, encode_texts
    grid = dense_feature_map(model, image, max_num_patches=max_num_patches)  # (h, w, D)
    texts = encode_texts(model, list(phrases), tokenizer, walk_type='box')  # (P, D)
    maps = torch.einsum('hwd,pd->phw', grid, texts).cpu().numpy()
    colours = ('tab:cyan', 'tab:orange', 'tab:green', 'tab:red')
    fig, axes = plt.subplots(1, len(phrases) + 1, figsize=(3.3 * (len(phrases) + 1), 3.6))
    axes[0].imshow(image)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        axes[0].add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                        color=colours[i % len(colours)], linewidth=2))
    axes[0].set_title('held-out image', fontsize=8)
    height, width = image.shape[:2]
    for i, (ax, phrase, sim) in enumerate(zip(axes[1:], phrases, maps)):
        ax.imshow(sim, cmap='magma', extent=(0, width, height, 0), interpolation='nearest')
        ax.set_title(phrase, fontsize=8, color=colours[i % len(colours)] if boxes else 'k')
    for ax in axes:
        ax.axis('off')
    fig.suptitle('cosine(dense feature, box-walk phrase), each map scaled to its own range',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
