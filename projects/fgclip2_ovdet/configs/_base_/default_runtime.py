# Runtime shared by every OV detection config: mmdet's runtime + our glue.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['fgclip2_mm.integrations.mmdet'], allow_failed_imports=False)
# The detector's vocabulary comes from the metainfo of the dataset being run (train / val /
# test), so a test-time vocabulary swap is a dataset metainfo change.
custom_hooks = [dict(type='fgclip2_mm.FGCLIP2VocabularyHook')]
# Draws Chinese labels with a CJK font when the system has one (else English / index).
visualizer = dict(type='fgclip2_mm.FGCLIP2DetLocalVisualizer')
