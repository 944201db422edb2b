"""``FGCLIP2OptimWrapperConstructor``: weight decay only where it belongs.

The reference decays every parameter whose name lacks "bias" and that is not a LayerNorm
weight, so the logit scales and biases, the position tables and the MAP probes are decayed
towards 0 (spec 3.7 #11). mmengine's ``paramwise_cfg`` cannot express the fix safely:
``custom_keys`` match substrings of names, and ``flat_decay_mult`` misses 0-dim
parameters such as ``logit_scale_region``. This constructor uses one explicit rule.
"""
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
from torch import nn

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS

#: Layers whose ``weight`` is decayed; every other parameter is not.
DECAY_MODULES = (nn.Linear, nn.Embedding)
#: Last name components never decayed, even as the weight of a decayed layer type.
NO_DECAY_NAMES = ('pos_embed', 'long_pos_ori', 'long_pos_res', 'probe', 'logit_scale',
                  'logit_bias', 'logit_scale_region', 'logit_scale_hardneg')
PARAMWISE_KEYS = ('no_decay_names', 'lr_mult')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FGCLIP2OptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build the optimizer with a decay and a no-decay parameter group.

    Only the ``weight`` of ``nn.Linear`` and ``nn.Embedding`` layers is decayed (with the
    optimizer's ``weight_decay``), unless the last component of its name is in
    ``no_decay_names``. Every other parameter -- biases, LayerNorm weights and biases,
    ``logit_scale`` / ``logit_bias`` and the 0-dim region and hard-negative scales, the
    position tables, the MAP probes -- gets none. The rule reads the owning module's type,
    not the parameter's shape, so it also holds under FSDP (``use_orig_params=True``
    exposes flattened shards). Frozen parameters are left out. One summary line is logged.

    ``paramwise_cfg`` keys (anything else raises):

    - ``no_decay_names`` (Sequence[str]): replaces :data:`NO_DECAY_NAMES`;
    - ``lr_mult`` (dict[str, float]): parameter-name prefix -> learning-rate multiplier
      (the longest matching prefix wins), e.g. ``{'text_encoder.boxtext_head': 10.}``.

    Example::

        optim_wrapper = dict(
            type='AmpOptimWrapper', dtype='bfloat16',
            optimizer=dict(type='AdamW', lr=1e-6, betas=(0.9, 0.98), eps=1e-6,
                           weight_decay=1e-3),
            constructor='FGCLIP2OptimWrapperConstructor')

    Args:
        optim_wrapper_cfg (dict): The ``optim_wrapper`` config.
        paramwise_cfg (dict, optional): See above. Defaults to None.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = sorted(set(paramwise_cfg) - set(PARAMWISE_KEYS))
        if unknown:
            raise ValueError(f'FGCLIP2OptimWrapperConstructor: unknown paramwise_cfg keys '
                             f'{unknown}; supported keys are {PARAMWISE_KEYS}')
        super().__init__(optim_wrapper_cfg, None)
        names = paramwise_cfg.get('no_decay_names', NO_DECAY_NAMES)
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ValueError(f'no_decay_names must be a sequence of str, got {names!r}')
        lr_mult = dict(paramwise_cfg.get('lr_mult', {}))
        for prefix, mult in lr_mult.items():
            if not isinstance(prefix, str) or isinstance(mult, bool) or \
                    not isinstance(mult, (int, float)) or mult < 0:
                raise ValueError(f'lr_mult must map name prefixes to numbers >= 0, got '
                                 f'{prefix!r}: {mult!r}')
        self.no_decay_names = tuple(names)
        self.lr_mult = {k: float(v) for k, v in lr_mult.items()}

    def decays(self, name: str, module: nn.Module) -> bool:
        """Whether the parameter ``name`` (full name) of ``module`` gets weight decay."""
        last = name.rsplit('.', 1)[-1]
        return isinstance(module, DECAY_MODULES) and last == 'weight' and \
            last not in self.no_decay_names

    def _mult(self, name: str) -> float:
        matches = [p for p in self.lr_mult if name.startswith(p)]
        return self.lr_mult[max(matches, key=len)] if matches else 1.0

    def param_groups(self, model: nn.Module) -> List[Dict]:
        """Parameter groups: one per (decay or not, learning-rate multiplier)."""
        groups: Dict[tuple, Dict] = {}
        counts = {True: [0, 0], False: [0, 0]}
        for name, module, param in _named_parameters(model):
            if not param.requires_grad:
                continue
            decay, mult = self.decays(name, module), self._mult(name)
            group = groups.setdefault((decay, mult), dict(params=[], names=[]))
            group['params'].append(param)
            group['names'].append(name)
            counts[decay][0] += 1
            counts[decay][1] += param.numel()
        out = []
        for (decay, mult), group in groups.items():
            group['weight_decay'] = self.base_wd if decay and self.base_wd else 0.0
            if mult != 1.0:
                group['lr'] = self.base_lr * mult
            out.append(group)
        print_log(f'FGCLIP2OptimWrapperConstructor: weight decay {self.base_wd} on '
                  f'{counts[True][0]} tensors ({counts[True][1]} values); none on '
                  f'{counts[False][0]} tensors ({counts[False][1]} values: biases, norms, '
                  f'logit scales/biases, position tables, probes); {len(out)} groups',
                  logger='current')
        return out

    def __call__(self, model: nn.Module):
        """Build the optim wrapper of ``model`` (a DDP wrapper is unwrapped)."""
        if hasattr(model, 'module'):
            model = model.module
        optim_wrapper_cfg = self.optim_wrapper_cfg.copy()
        optim_wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = self.optimizer_cfg.copy()
        groups = self.param_groups(model)
        for group in groups:
            group.pop('names')
        optimizer_cfg['params'] = groups
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(optim_wrapper_cfg, default_args=dict(optimizer=optimizer))


def _named_parameters(model: nn.Module):
    """``(full name, owning module, parameter)`` of every parameter, once each."""
    seen = set()
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            if id(param) not in seen:
                seen.add(id(param))
                yield (f'{module_name}.{name}' if module_name else name), module, param


def no_decay_parameter_names(model: nn.Module,
                             no_decay_names: Sequence[str] = NO_DECAY_NAMES) -> List[str]:
    """Names of the trainable parameters the constructor leaves undecayed (for checks)."""
    ctor = FGCLIP2OptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=1.0)),
        dict(no_decay_names=tuple(no_decay_names)))
    return [n for n, m, p in _named_parameters(model) if p.requires_grad and not ctor.decays(n, m)]
