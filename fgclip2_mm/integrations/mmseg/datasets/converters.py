"""Label conversions for the OV-seg benchmarks (pure functions; CLIs live in the project)."""
import numpy as np

#: COCO-Stuff-171 train ids 0..79 are the COCO things (mmseg ``COCOStuffDataset`` order).
NUM_COCO_THINGS = 80
NUM_COCO_STUFF_171 = 171


def coco_stuff_to_object(label: np.ndarray) -> np.ndarray:
    """COCO-Stuff-171 train ids -> COCO-Object ids.

    Things ``0..79`` become ``1..80``; the 91 stuff classes ``80..170`` *and* the unlabeled
    255 become the background ``0``, as SCLIP's converter builds COCO-Object
    (wangf3014/SCLIP ``datasets/cvt_coco_object.py`` l.193-197: every raw id above 90,
    255 included, maps to 0; ClearCLIP's and GroupViT's converters are the same), so
    nothing is ignored in COCO-Object.

    Args:
        label (np.ndarray): (H, W) uint8 ``*_labelTrainIds.png`` content.

    Returns:
        np.ndarray: (H, W) uint8 COCO-Object labels.

    Raises:
        ValueError: Values outside ``0..170`` and ``255``.
    """
    label = np.asarray(label)
    bad = (label > NUM_COCO_STUFF_171 - 1) & (label != 255)
    if bad.any():
        raise ValueError(f'COCO-Stuff-171 train ids must be 0..170 or 255, found '
                         f'{sorted(np.unique(label[bad]).tolist())[:10]}')
    return np.where(label < NUM_COCO_THINGS, label + 1, 0).astype(np.uint8)
