"""Deployment of FG-CLIP 2: ONNX export (:mod:`.export`, needs torch) and a runtime
(:class:`FGCLIP2OnnxModel`, onnxruntime + numpy + Pillow + ``tokenizers``, no torch) that
tokenises, encodes and scores any vocabulary. ``export_onnx`` is imported on first use, so
``from fgclip2_mm.deployment import FGCLIP2OnnxModel`` works where torch is not installed."""
from .runtime import META_FILE, FGCLIP2OnnxModel

__all__ = ['FGCLIP2OnnxModel', 'META_FILE', 'export_onnx']


def __getattr__(name):
    if name == 'export_onnx':
        from .export import export_onnx
        return export_onnx
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
