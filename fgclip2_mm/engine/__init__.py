"""Training-engine extensions: safe checkpoint loading (and, later, hooks and loops)."""
from .checkpoint import (load_checkpoint_file, mmengine_checkpoint_globals,
                         register_checkpoint_support)

__all__ = ['load_checkpoint_file', 'mmengine_checkpoint_globals', 'register_checkpoint_support']
