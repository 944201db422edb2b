"""Text helpers shared by evaluation and the mmdet / mmseg glue: prompt templates
(:mod:`.templates`), which script a text is in (:mod:`.scripts`) and where vocabulary
embeddings are cached (:mod:`.cache_dir`)."""
from .cache_dir import CACHE_ENV, default_cache_dir
from .scripts import contains_cjk
from .templates import ARTICLE, load_templates, template_sets

__all__ = ['CACHE_ENV', 'default_cache_dir', 'contains_cjk', 'ARTICLE', 'load_templates',
           'template_sets']
