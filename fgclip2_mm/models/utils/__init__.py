"""Model helpers: named sizes, checkpoint conversion, position embeddings, RoI pooling."""
from .arch_zoo import ARCH_ZOO, get_arch, text_arch, vision_arch
from .ckpt_convert import arch_to_hf_config, hf_config_to_arch, hf_to_mm, mm_to_hf
from .pos_embed import (resize_naflex_pos_embed, resize_pos_grid, stretch_text_pos_embed,
                        unique_shapes)
from .region_features import (boxes_to_grid, normalized_boxes_to_grid, pad_boxes, roi_align_1x1)

__all__ = [
    'ARCH_ZOO', 'get_arch', 'text_arch', 'vision_arch', 'arch_to_hf_config', 'hf_config_to_arch',
    'hf_to_mm', 'mm_to_hf', 'resize_naflex_pos_embed', 'resize_pos_grid', 'stretch_text_pos_embed',
    'unique_shapes', 'boxes_to_grid', 'normalized_boxes_to_grid', 'pad_boxes', 'roi_align_1x1'
]
