"""``FGCLIP2Pretrained``: initialise FG-CLIP 2 from a SigLIP 2 or FG-CLIP 2 checkpoint folder.

The released stage-2 recipe starts from ``siglip2-base-patch16-naflex`` with
``--from_siglip2`` (spec 4.2): the SigLIP 2 weights are loaded, then the FG-CLIP 2 extras
are derived (64 -> 196 long-position stretch, box/long heads copied from the text head,
dense head copied from the MAP head). This initializer does the same through the
safetensors-only machinery of :mod:`fgclip2_mm.apis.model_loading` (no pickle), for:

* an official Hugging Face folder (``config.json`` with ``model_type`` ``siglip2`` or
  ``fgclip2``, ``model.safetensors``);
* our folder (``fgclip2_mm_config.json`` + ``fgclip2_mm.safetensors``, e.g. written by
  ``tools/model_converters/fgclip2_hf_to_mm.py`` or :func:`fgclip2_mm.apis.save_fgclip2`).

Use it as ``model.init_cfg=dict(type='FGCLIP2Pretrained', checkpoint=FOLDER)``;
:meth:`FGCLIP2.init_weights` applies it after every other initialisation, and the runner's
``load_from`` / ``--resume`` (loaded afterwards) still win.
"""
import os

from mmengine.logging import MMLogger

from ..registry import WEIGHT_INITIALIZERS

HOW_TO_GET = ('download one on a machine with internet, e.g. `huggingface-cli download '
              'google/siglip2-base-patch16-naflex --local-dir checkpoints/'
              'siglip2-base-patch16-naflex` (SigLIP 2, the released recipe\'s start) or '
              '`qihoo360/fg-clip2-base`, or set model.init_cfg=None to train from scratch')


@WEIGHT_INITIALIZERS.register_module(name='FGCLIP2Pretrained')
class FGCLIP2PretrainedInit:
    """Load a checkpoint folder into an :class:`FGCLIP2` model, strictly.

    Every key of the model must come from the checkpoint except the FG-CLIP 2 extras of a
    SigLIP 2 folder (derived with :meth:`FGCLIP2.init_from_siglip2`), the optional region
    and hard-negative scales of an official folder (kept at their initial value) and the
    loss buffers (``losses.*``, e.g. the CMR threshold, which starts at its initial
    value). Missing, unexpected or mis-shaped keys raise one ``ValueError`` listing them; a
    vision position table of another grid size is resized (logged).

    Args:
        checkpoint (str): The checkpoint folder.
    """

    def __init__(self, checkpoint: str) -> None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise ValueError(f'checkpoint must be a folder path, got {checkpoint!r}')
        self.checkpoint = os.fspath(checkpoint)

    def __call__(self, module) -> None:
        """Load the folder into ``module`` (an FGCLIP2) in place."""
        from fgclip2_mm.apis.model_loading import (check_keys, folder_kind, hf_folder_to_mm,
                                                   read_hf_folder, read_mm_folder)
        path = self.checkpoint
        if not os.path.isdir(path):
            raise FileNotFoundError(f'FGCLIP2Pretrained: checkpoint folder not found: {path!r}; '
                                    + HOW_TO_GET)
        siglip2 = False
        if folder_kind(path) == 'hf':
            config, state = read_hf_folder(path)
            _, state = hf_folder_to_mm(state, config)
            siglip2 = config['model_type'] == 'siglip2'
        else:
            _, state = read_mm_folder(path)
        allowed = set(check_keys(state, module.arch_dict(), siglip2=siglip2))
        result = module.load_state_dict(state, strict=False)
        missing = sorted(k for k in result.missing_keys
                         if k not in allowed and not k.startswith('losses.'))
        if missing or result.unexpected_keys:
            raise ValueError(f'FGCLIP2Pretrained: loading {path!r}: missing keys {missing}, '
                             f'unexpected keys {sorted(result.unexpected_keys)}')
        logger = MMLogger.get_current_instance()
        if siglip2:
            module.init_from_siglip2()
            logger.info(f'FGCLIP2Pretrained: {path} is a SigLIP 2 checkpoint; derived the '
                        'FG-CLIP 2 extras (196-position stretch, walk heads, dense head)')
        logger.info(f'FGCLIP2Pretrained: loaded {len(state)} tensors from {path}'
                    + (f'; kept the initial values of {sorted(allowed)}' if allowed else ''))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(checkpoint={self.checkpoint!r})'
