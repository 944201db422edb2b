"""Convert an official (Hugging Face) FG-CLIP 2 folder into an fgclip2_mm folder.

Usage::

    python tools/model_converters/fgclip2_hf_to_mm.py HF_FOLDER OUT_FOLDER

Reads ``config.json`` + ``model.safetensors`` (or shards), writes ``fgclip2_mm.safetensors``
(our keys, dtypes unchanged) + ``fgclip2_mm_config.json`` and copies the tokenizer files.
A SigLIP 2 folder (``model_type: siglip2``) is converted too; the FG-CLIP 2 extras are then
derived at load time. Safetensors only (no pickle).
"""
import argparse
import sys

from safetensors import SafetensorError

from fgclip2_mm.apis.model_loading import convert_hf_folder
from fgclip2_mm.utils.cli import OneLineArgumentParser
from fgclip2_mm.utils.output_folder import write_output_folder


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official FG-CLIP 2 checkpoint folder (config.json)')
    parser.add_argument('dst', help='output folder (created)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='allow writing into a non-empty output folder (files of the same names are '
        'replaced; a symlink there is replaced, never written through)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        copied = write_output_folder(args.src, args.dst,
                                     lambda out: convert_hf_folder(args.src, out),
                                     overwrite=args.overwrite)
    except (ValueError, OSError, KeyError, TypeError, SafetensorError) as exc:
        print(f'fgclip2_hf_to_mm: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {args.dst} (copied: {", ".join(copied) or "no tokenizer files"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
