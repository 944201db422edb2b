"""Export the FG-CLIP 2 vision tower as a plain transformers ``Siglip2VisionModel`` folder.

Usage::

    python tools/model_converters/fgclip2_to_siglip2_vision.py CHECKPOINT OUT_FOLDER

CHECKPOINT is an FG-CLIP 2 checkpoint folder, ours (``fgclip2_mm_config.json``) or the
official Hugging Face one (``config.json``). OUT_FOLDER gets ``config.json``
(``model_type: siglip2_vision_model``), ``model.safetensors`` with the ``vision_model.*``
keys of the official layout, and ``preprocessor_config.json`` (``Siglip2ImageProcessor``,
copied from CHECKPOINT when it has one). It loads with
``transformers.Siglip2VisionModel.from_pretrained(OUT_FOLDER)``, no remote code, for an LMM
(LLaVA-style) vision tower. The dense feature head and the text tower are not part of a
``Siglip2VisionModel`` and are left out. Safetensors only (no pickle).
"""
import argparse
import json
import os
import shutil
import sys

from safetensors import SafetensorError
from safetensors.torch import save_file

from fgclip2_mm.apis.model_loading import (HF_CONFIG, HF_WEIGHTS, folder_kind,
                                           hf_folder_to_mm, read_hf_folder, read_mm_folder)
from fgclip2_mm.models.utils.arch_zoo import get_arch
from fgclip2_mm.models.utils.ckpt_convert import arch_to_hf_config, mm_to_hf
from fgclip2_mm.utils.cli import OneLineArgumentParser
from fgclip2_mm.utils.output_folder import write_output_folder

VISION_PREFIX = 'vision_model.'
PROCESSOR_FILE = 'preprocessor_config.json'
#: Patch budget written into a new ``preprocessor_config.json`` (SigLIP 2 NaFlex default).
DEFAULT_MAX_NUM_PATCHES = 256


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='FG-CLIP 2 checkpoint folder (ours or the official one)')
    parser.add_argument('dst', help='output folder (created)')
    parser.add_argument(
        '--max-num-patches',
        type=int,
        default=DEFAULT_MAX_NUM_PATCHES,
        help='patch budget of the written preprocessor_config.json when CHECKPOINT has none '
        f'(default {DEFAULT_MAX_NUM_PATCHES}; FG-CLIP 2 evaluates with up to 1024)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='allow writing into a non-empty output folder (files of the same names are '
        'replaced; a symlink there is replaced, never written through)')
    args = parser.parse_args(argv)
    if args.max_num_patches <= 0:
        parser.error(f'--max-num-patches must be positive, got {args.max_num_patches}')
    return args


def read_any_folder(src: str) -> tuple:
    """``(arch dict, our-layout state dict)`` of an FG-CLIP 2 folder of either layout."""
    if folder_kind(src) == 'mm':
        meta, state = read_mm_folder(src)
    else:
        config, state = read_hf_folder(src)
        meta, state = hf_folder_to_mm(state, config)
    return get_arch(meta['model'].get('arch', 'base')), state


def siglip2_vision_export(arch: dict, state: dict) -> tuple:
    """Pure: ``(config.json dict, state dict)`` of a ``Siglip2VisionModel``.

    Args:
        arch (dict): Our complete arch dict.
        state (dict[str, Tensor]): Our-layout state dict (not modified).

    Returns:
        tuple: The ``Siglip2VisionConfig``-layout dict and the ``vision_model.*`` tensors
        (official key names, :func:`~fgclip2_mm.models.utils.ckpt_convert.mm_to_hf`).
    """
    official, unknown = mm_to_hf(state, with_extras=False)
    if unknown:
        raise ValueError(f'unrecognised keys in the checkpoint: {sorted(unknown)}')
    vision = {k: v.contiguous() for k, v in official.items() if k.startswith(VISION_PREFIX)}
    if not vision:
        raise ValueError('the checkpoint has no vision tower weights')
    config = dict(arch_to_hf_config(arch)['vision_config'])
    config.update(model_type='siglip2_vision_model', architectures=['Siglip2VisionModel'],
                  vision_use_head=True)
    return config, vision


def processor_config(patch_size: int, max_num_patches: int) -> dict:
    """``Siglip2ImageProcessor`` settings of FG-CLIP 2 (resize, 1/255, mean = std = 0.5)."""
    return dict(
        image_processor_type='Siglip2ImageProcessor',
        do_resize=True,
        resample=2,  # PIL bilinear
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_convert_rgb=True,
        patch_size=patch_size,
        max_num_patches=max_num_patches)


def convert(src: str, dst: str, max_num_patches: int = DEFAULT_MAX_NUM_PATCHES) -> None:
    """Write the ``Siglip2VisionModel`` files into ``dst`` from the checkpoint folder ``src``
    (``main`` passes a staging folder of :func:`write_output_folder`, which checks ``dst``)."""
    arch, state = read_any_folder(src)
    config, vision = siglip2_vision_export(arch, state)
    os.makedirs(dst, exist_ok=True)
    save_file(vision, os.path.join(dst, HF_WEIGHTS), metadata={'format': 'pt'})
    with open(os.path.join(dst, HF_CONFIG), 'w', encoding='utf-8') as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write('\n')
    if os.path.isfile(os.path.join(src, PROCESSOR_FILE)):
        shutil.copyfile(os.path.join(src, PROCESSOR_FILE), os.path.join(dst, PROCESSOR_FILE))
    else:
        with open(os.path.join(dst, PROCESSOR_FILE), 'w', encoding='utf-8') as f:
            json.dump(processor_config(arch['vision']['patch_size'], max_num_patches), f,
                      indent=2)
            f.write('\n')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        write_output_folder(args.src, args.dst,
                            lambda out: convert(args.src, out, args.max_num_patches),
                            overwrite=args.overwrite)
    except (ValueError, OSError, KeyError, TypeError, SafetensorError) as exc:
        print(f'fgclip2_to_siglip2_vision: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {args.dst} (transformers.Siglip2VisionModel.from_pretrained loads it)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
