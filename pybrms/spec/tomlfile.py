"""Read a TOML file that describes work (a grid, a study), with errors that name the file
and the table.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SpecError


def read_toml(path: str | os.PathLike, kind: str) -> dict[str, Any]:
    """The table in the TOML file ``path``.

    Parameters
    ----------
    path : path
        The file.
    kind : str
        What the file is, for messages: ``"grid file"``, ``"study file"``.

    Raises
    ------
    SpecError
        If the file does not exist or is not valid TOML.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{kind} {str(path)!r} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{kind} {str(path)!r} is not valid TOML: {exc}") from exc


def check_fields(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    """Refuse a field of ``table`` not in ``allowed``, naming ``where`` and the known fields.

    Raises
    ------
    SpecError
        ``"[base]: unknown field(s) 'fomula'; known fields: formula, family, ..."``.
    """
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                        f"known fields: {', '.join(allowed)}")
