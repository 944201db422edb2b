from .build import build_owned, owned_scope

__all__ = ['build_owned', 'owned_scope']
