"""Convert an fgclip2_mm checkpoint folder into the official (Hugging Face) FG-CLIP 2 layout.

Usage::

    python tools/model_converters/fgclip2_mm_to_hf.py MM_FOLDER OUT_FOLDER [--no-extras]

Writes ``model.safetensors`` with the official key names (dtypes unchanged) and a
``config.json`` (``model_type: fgclip2``, ``text_config`` / ``vision_config`` with
``keep_len`` / ``longtext_len``; other fields of the original ``config.json`` are kept when
the folder came from one) and copies the tokenizer files. ``--no-extras`` drops
``logit_scale_finegraind`` / ``logit_scale_hardneg`` (unused by the official inference
model). HF -> ours -> HF is bit-exact. Safetensors only (no pickle).
"""
import argparse
import sys

from safetensors import SafetensorError

from fgclip2_mm.apis.model_loading import convert_mm_folder
from fgclip2_mm.utils.cli import OneLineArgumentParser
from fgclip2_mm.utils.output_folder import write_output_folder


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='fgclip2_mm checkpoint folder (fgclip2_mm_config.json)')
    parser.add_argument('dst', help='output folder (created)')
    parser.add_argument(
        '--no-extras',
        action='store_true',
        help='do not write logit_scale_finegraind / logit_scale_hardneg')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='allow writing into a non-empty output folder (files of the same names are '
        'replaced; a symlink there is replaced, never written through)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        copied = write_output_folder(
            args.src, args.dst,
            lambda out: convert_mm_folder(args.src, out, with_extras=not args.no_extras),
            overwrite=args.overwrite)
    except (ValueError, OSError, KeyError, TypeError, SafetensorError) as exc:
        print(f'fgclip2_mm_to_hf: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {args.dst} (copied: {", ".join(copied) or "no tokenizer files"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
