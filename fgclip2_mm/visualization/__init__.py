"""Pictures a user wants to look at: world previews, detections, similarity maps, and the
quick start's one-page report."""
from .report import write_report
from .world_preview import draw_annotated_image, write_world_gallery

__all__ = ['draw_annotated_image', 'write_world_gallery', 'write_report']
