"""User-facing helpers: checkpoint loading / conversion and high-level inference."""
from .boxes import check_boxes
from .images import list_images, load_image
from .inference import (dense_feature_map, encode_images, encode_regions, encode_texts,
                        match_probs, prepare_images)
from .model_loading import (convert_hf_folder, convert_mm_folder, load_fgclip2, save_fgclip2)
from .similarity_map import save_similarity_overlays, similarity_maps

__all__ = [
    'load_fgclip2', 'save_fgclip2', 'convert_hf_folder', 'convert_mm_folder', 'prepare_images',
    'encode_images', 'encode_texts', 'encode_regions', 'dense_feature_map', 'match_probs',
    'check_boxes', 'load_image', 'list_images', 'similarity_maps', 'save_similarity_overlays'
]
