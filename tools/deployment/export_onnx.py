"""Export an FG-CLIP 2 checkpoint to ONNX with a vocabulary that is chosen at run time.

Usage::

    python tools/deployment/export_onnx.py CHECKPOINT OUT_DIR [--walks short box]

CHECKPOINT is a checkpoint folder (ours or the official Hugging Face one, with its tokenizer
files). OUT_DIR gets ``image_encoder.onnx`` (NaFlex inputs ``pixel_values``,
``pixel_attention_mask``, ``spatial_shapes`` with a dynamic batch and patch count, plus
``boxes`` in [0, 1] xyxy; outputs ``image_embeds``, ``dense_features``,
``region_features``), ``text_encoder_{walk}.onnx`` per walk (``input_ids`` -> embeddings),
the tokenizer files and ``fgclip2_onnx.json``. Run it with
``fgclip2_mm.deployment.FGCLIP2OnnxModel(OUT_DIR)`` (onnxruntime, no torch).
"""
import argparse
import sys

from safetensors import SafetensorError

from fgclip2_mm.utils.cli import OneLineArgumentParser

WALKS = ('short', 'box', 'long')


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='FG-CLIP 2 checkpoint folder (ours or the official '
                        'one) with its tokenizer files')
    parser.add_argument('out_dir', help='output folder (created)')
    parser.add_argument('--walks', nargs='+', choices=WALKS, default=['short', 'box'],
                        help='text walks to export (default: short box; box for region and '
                        'dense vocabularies, short for whole images, long for long captions)')
    parser.add_argument('--max-num-patches', type=int, default=1024,
                        help='default patch budget of the runtime (default 1024)')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    parser.add_argument('--overwrite', action='store_true',
                        help='allow writing into a non-empty output folder')
    args = parser.parse_args(argv)
    if args.max_num_patches <= 0:
        parser.error(f'--max-num-patches must be positive, got {args.max_num_patches}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from fgclip2_mm.apis import load_fgclip2
    from fgclip2_mm.deployment.export import export_onnx
    from fgclip2_mm.utils.output_folder import write_output_folder
    try:
        model = load_fgclip2(args.checkpoint)
        write_output_folder(
            args.checkpoint, args.out_dir,
            lambda out: export_onnx(model, args.checkpoint, out, args.walks,
                                    args.max_num_patches, args.opset),
            overwrite=args.overwrite)
    except (ValueError, OSError, KeyError, TypeError, SafetensorError) as exc:
        print(f'export_onnx: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {args.out_dir} (walks: {", ".join(args.walks)}); load it with '
          'fgclip2_mm.deployment.FGCLIP2OnnxModel')
    return 0


if __name__ == '__main__':
    sys.exit(main())
