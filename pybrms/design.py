"""Crossed designs with exclusions: what sensitivity grids and simulation studies share.

A design is a set of named axes, each with its levels (a grid's named options, a study's
condition values); its cells are the product of the axes in axis order (the last axis varies
fastest, as :func:`itertools.product`), minus the combinations an exclusion names
(``[[exclude]]`` tables in the grid and study files: a cell matching every axis = level pair of
one exclusion is skipped).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import SpecError


def check_exclusions(exclude: Sequence[Mapping[str, Any]], axes: Mapping[str, Sequence[Any]],
                     what: str = "option") -> list[dict[str, Any]]:
    """Validate ``[[exclude]]`` entries against the axes and their levels.

    Parameters
    ----------
    exclude : sequence of mapping
        Each a mapping axis -> level.
    axes : mapping of str to sequence
        Axis -> its levels.
    what : str
        What a level is called in messages (``option``, ``value``).

    Returns
    -------
    list of dict

    Raises
    ------
    SpecError
        An exclusion that is not a table, is empty, or names an unknown axis or level.
    """
    out = []
    for i, ex in enumerate(exclude):
        if not isinstance(ex, Mapping) or not ex:
            raise SpecError(f"[[exclude]] #{i + 1}: an exclusion is a table of axis = {what} "
                            f"pairs, got {ex!r}")
        for axis, level in ex.items():
            if axis not in axes:
                raise SpecError(f"[[exclude]] #{i + 1}: unknown axis {axis!r}; axes: "
                                f"{', '.join(axes)}")
            if level not in list(axes[axis]):
                raise SpecError(f"[[exclude]] #{i + 1}: axis {axis!r} has no {what} {level!r}; "
                                f"{what}s: {', '.join(map(str, axes[axis]))}")
        out.append(dict(ex))
    return out


def excluded(choices: Mapping[str, Any], exclude: Sequence[Mapping[str, Any]]) -> bool:
    """True when ``choices`` (axis -> level) matches every pair of some exclusion."""
    return any(all(a in choices and choices[a] == v for a, v in ex.items()) for ex in exclude)


def crossed(axes: Mapping[str, Sequence[Any]], exclude: Sequence[Mapping[str, Any]] = ()
            ) -> list[dict[str, Any]]:
    """Every combination of the axes' levels (axis -> level), minus the excluded ones."""
    names = list(axes)
    combos = (dict(zip(names, levels, strict=True))
              for levels in itertools.product(*(axes[a] for a in names)))
    return [c for c in combos if not excluded(c, exclude)]
