"""A griffe extension for the API reference: Sphinx roles as code, grouped parameters' defaults.

The docstrings use Sphinx roles (``:func:`pybrms.bf```), which Markdown does not know; they
are shown as inline code (the target's name).

numpydoc allows one entry for several parameters (``chains, iter, warmup``); griffe gives every
name of such an entry the first name's default and annotation, so the reference would print
``iter = 4``. After loading, this extension sets each documented parameter's default (and, in a
grouped entry, its annotation) from the signature. It works on griffe's static data only:
nothing is imported.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import DocstringSectionKind, Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|mod|attr|obj|exc|const):`~?([^`]+)`")


def _walk(obj: Object):
    yield obj
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield from _walk(member)


class SignatureDefaults(Extension):
    """Sphinx roles as code; documented parameters' defaults from the signature."""

    def on_package(self, *, pkg: Object, **kwargs: Any) -> None:
        """Rewrite roles, then fix each parameters section of every object in the package."""
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _ROLE.sub(r"`\1`", obj.docstring.value)
        for obj in _walk(pkg):
            params = getattr(obj, "parameters", None)
            if not params or obj.docstring is None:
                continue
            for section in obj.docstring.parsed:
                if section.kind is not DocstringSectionKind.parameters:
                    continue
                items = section.value
                for i, p in enumerate(items):
                    name = p.name.lstrip("*")
                    if name not in params:
                        continue
                    sig = params[name]
                    grouped = any(items[j].description is p.description
                                  for j in (i - 1, i + 1) if 0 <= j < len(items))
                    if sig.default is not None:
                        p.value = sig.default
                    elif grouped:
                        p.value = None
                    if grouped:
                        p.annotation = sig.annotation
