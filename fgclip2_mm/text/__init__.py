"""Text, shared by the datasets, evaluation and the mmdet / mmseg glue: the tokenizer
(:mod:`.tokenization`), prompt templates (:mod:`.templates`), which script a text is in
(:mod:`.scripts`), vocabulary embeddings and their disk cache (:mod:`.embeddings`) and
where that cache lives by default (:mod:`.cache_dir`). Nothing here imports another
subpackage of fgclip2_mm."""
from .cache_dir import CACHE_ENV, default_cache_dir
from .scripts import contains_cjk
from .templates import ARTICLE, load_templates, template_sets

__all__ = ['CACHE_ENV', 'default_cache_dir', 'contains_cjk', 'ARTICLE', 'load_templates',
           'template_sets']
