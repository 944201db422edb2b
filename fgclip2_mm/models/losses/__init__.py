"""FG-CLIP 2 losses: pure functions (:mod:`.functional`) and registered modules."""
from . import functional
from .hard_negative_loss import FGCLIP2HardNegativeLoss
from .region_contrastive_loss import FGCLIP2RegionContrastiveLoss
from .sigmoid_loss import FGCLIP2SigmoidLoss
from .tic_loss import FGCLIP2TICLoss

__all__ = [
    'functional', 'FGCLIP2SigmoidLoss', 'FGCLIP2RegionContrastiveLoss', 'FGCLIP2TICLoss',
    'FGCLIP2HardNegativeLoss'
]
