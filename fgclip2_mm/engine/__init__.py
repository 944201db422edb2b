"""Training-engine extensions: safe checkpoint loading, the optimizer constructor and the
pretrained-checkpoint initializer."""
from .checkpoint import (load_checkpoint_file, mmengine_checkpoint_globals,
                         register_checkpoint_support)
from .fsdp import fgclip2_fsdp_wrap_policy
from .optim_constructor import (NO_DECAY_NAMES, FGCLIP2OptimWrapperConstructor,
                                no_decay_parameter_names)
from .pretrained import FGCLIP2PretrainedInit

__all__ = [
    'load_checkpoint_file', 'mmengine_checkpoint_globals', 'register_checkpoint_support',
    'FGCLIP2OptimWrapperConstructor', 'NO_DECAY_NAMES', 'no_decay_parameter_names',
    'FGCLIP2PretrainedInit', 'fgclip2_fsdp_wrap_policy'
]

from .eval_loops import FGCLIP2TestLoop, FGCLIP2ValLoop  # noqa: E402  (registers the loops)

from .zero_shot_vis_hook import FGCLIP2ZeroShotVisHook  # noqa: E402  (registers the hook)

__all__ += ['FGCLIP2ValLoop', 'FGCLIP2TestLoop', 'FGCLIP2ZeroShotVisHook']
