"""``FGCLIP2Pretrained``: the strict variant of mmengine's ``Pretrained`` for checkpoint folders.

The usual way to start from a checkpoint folder is mmengine's own initializer,
``model.init_cfg=dict(type='Pretrained', checkpoint=FOLDER)`` (or ``load_from=FOLDER``):
mmengine applies it after every other ``init_cfg`` entry and loads non-strictly, logging
missing and unexpected keys. A folder of any layout (ours, official FG-CLIP 2, SigLIP 2
NaFlex with its FG-CLIP 2 extras derived, spec 4.2 ``--from_siglip2``) reaches it through
the local checkpoint-loader scheme (:mod:`fgclip2_mm.engine.checkpoint`), which hands it to
:func:`~fgclip2_mm.models.utils.checkpoint_folder.load_checkpoint_folder`.

``dict(type='FGCLIP2Pretrained', checkpoint=FOLDER)`` reads the folder with the same
reader and loads it strictly: every key of the model must come from the folder except the
optional region / hard-negative scales of an official folder and the loss buffers; anything
else raises one ``ValueError`` listing the keys. Like every initializer other than
``Pretrained``, it runs in its place in the ``init_cfg`` list (the FG-CLIP 2 towers set their
initial values at construction, so nothing runs after it unless listed after it). A missing
folder raises ``FileNotFoundError`` saying how to get one.
"""
import os

from ..registry import WEIGHT_INITIALIZERS

HOW_TO_GET = ('download one on a machine with internet, e.g. `huggingface-cli download '
              'google/siglip2-base-patch16-naflex --local-dir checkpoints/'
              'siglip2-base-patch16-naflex` (SigLIP 2, the released recipe\'s start) or '
              '`qihoo360/fg-clip2-base`, or set model.init_cfg=None to train from scratch')


@WEIGHT_INITIALIZERS.register_module(name='FGCLIP2Pretrained')
class FGCLIP2PretrainedInit:
    """Load a checkpoint folder into an :class:`FGCLIP2` model, strictly.

    Args:
        checkpoint (str): The checkpoint folder.
    """

    def __init__(self, checkpoint: str) -> None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise ValueError(f'checkpoint must be a folder path, got {checkpoint!r}')
        self.checkpoint = os.fspath(checkpoint)
        self.wholemodule = False  # set by mmengine's initialize(); unused

    def __call__(self, module) -> None:
        """Load the folder into ``module`` (an FGCLIP2) in place."""
        from fgclip2_mm.models.utils.checkpoint_folder import (load_folder_into,
                                                               read_checkpoint_folder)
        if not os.path.isdir(self.checkpoint):
            raise FileNotFoundError(f'FGCLIP2Pretrained: checkpoint folder not found: '
                                    f'{self.checkpoint!r}; ' + HOW_TO_GET)
        load_folder_into(module, read_checkpoint_folder(self.checkpoint))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(checkpoint={self.checkpoint!r})'
