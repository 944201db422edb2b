"""Host glue for mmdet and mmseg.

These packages are not part of the registry ``locations`` of :mod:`fgclip2_mm.registry`, so
``import fgclip2_mm`` never imports a host library. A host config imports the glue it needs
explicitly, e.g.
``custom_imports = dict(imports=['fgclip2_mm.integrations.mmdet'], allow_failed_imports=False)``,
and names the registered classes with the scoped type ``'fgclip2_mm.ClassName'``.
"""
