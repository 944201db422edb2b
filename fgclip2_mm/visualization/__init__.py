"""Pictures a user wants to look at: world previews, detections, similarity maps."""
from .world_preview import draw_annotated_image, write_world_gallery

__all__ = ['draw_annotated_image', 'write_world_gallery']
