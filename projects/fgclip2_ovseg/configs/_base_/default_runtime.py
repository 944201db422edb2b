# mmseg's runtime plus the fgclip2_mm mmseg glue (registered as 'fgclip2_mm.<Class>').
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['fgclip2_mm.integrations.mmseg'], allow_failed_imports=False)
# Refuse a vocabulary whose label count differs from the dataset's classes (before
# training, validation and testing), instead of a silently wrong mIoU.
custom_hooks = [dict(type='fgclip2_mm.FGCLIP2SegVocabularyCheckHook')]
