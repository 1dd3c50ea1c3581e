"""Data read by R itself, so the numbers are the ones an R script's ``brm()`` call sees.

Why it matters: R and pandas parse decimal text with different algorithms. brms's
``epilepsy`` written with ``write.csv`` and read back differs in 4 of 236 ``zBase`` values (one
patient's) by 29 units in the last place between ``read.csv`` and pandas' default parser; MCMC
turns a last-bits difference into different chains. :func:`read_csv` calls R's ``read.csv``
and hands back the exact doubles (and R's types: integer, logical, character, factor), so
``pybrms.brm(..., data=pybrms.read_csv(path))`` draws what the R script draws.
:func:`read_csv_checked` is the same read after pybrms's checks of the file; every command
line reader (``pybrms compare --data``, a grid's ``data = "file.csv"``) uses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from . import bridge
from .errors import DataError
from .spec.csvfile import scan_csv
from .spec.model import FitSpec

#: file suffixes read by R, and how
R_READERS = {".csv": "read.csv", ".rds": "readRDS", ".rdata": "load", ".rda": "load"}


def _path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"data file {str(p)!r} does not exist")
    return p


def read_csv(path: str | os.PathLike, **read_csv_args: Any) -> pd.DataFrame:
    """Read a CSV file with R's ``read.csv``, bit for bit as an R script reads it.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    **read_csv_args
        Any other ``read.csv`` argument with R's name and meaning
        (``sep=";"``, ``na_strings`` is written ``**{"na.strings": ["", "NA"]}``,
        ``stringsAsFactors=True``...).

    Returns
    -------
    DataFrame
        R's doubles unchanged; R integers as int32; logicals as bool; factors as
        categoricals with R's level order; text as str.

    Raises
    ------
    DataError
        If the file does not exist; R's own message if ``read.csv`` fails.
    """
    p = _path(path)
    return bridge.to_pandas(bridge.call("pybrms_read_csv", str(p), dict(read_csv_args),
                                        feature="core"))


def read_csv_checked(path: str | os.PathLike,
                     columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a model's CSV file as an R script does, after checks that name line and column.

    What every ``pybrms`` command (and a grid's ``data = "file.csv"``) reads a CSV with:
    the file's layout is checked in Python first (:func:`pybrms.spec.csvfile.scan_csv`:
    one header line, every row as wide as the header), then R's ``read.csv`` reads it
    (:func:`read_csv`: R's doubles, bit for bit), then the columns a model uses are checked.

    Parameters
    ----------
    path : str or path-like
        The CSV file (first line: column names).
    columns : iterable of str, optional
        Columns the model uses: each must be in the frame R read, with no empty (or ``NA``)
        cells and, when most of its values are numbers, no stray non-numbers.

    Returns
    -------
    DataFrame
        As :func:`read_csv` gives it (R's names: ``read.csv`` turns a header ``a b`` into
        ``a.b``).

    Raises
    ------
    DataError
        For a missing or malformed file, a missing column, an empty cell or a stray
        non-number in a used column; the message names the file, line and column.
    """
    scan = scan_csv(path)
    wanted = set(columns or ())
    scan.check_cells(wanted)  # before R starts: most mistakes are found in a moment
    data = read_csv(path)
    if len(data) != len(scan.rows):
        raise DataError(f"{scan.path}: R's read.csv read {len(data)} data rows, but the file "
                        f"has {len(scan.rows)} lines of data; check its quotes")
    names = [str(c) for c in data.columns]
    missing = sorted(wanted - set(names))
    if missing:
        renamed = [f"{raw!r} as {r!r}" for raw, r in zip(scan.header, names, strict=False)
                   if raw != r]
        which = (f"column {missing[0]!r} used in the formula is" if len(missing) == 1 else
                 f"columns {', '.join(map(repr, missing))} used in the formula are")
        raise DataError(
            f"{scan.path}: {which} not in the file; its columns are: {', '.join(names)}"
            + (f" (R's read.csv reads {', '.join(renamed)}: use those names)" if renamed
               else "")
        )
    scan.check_cells(wanted - set(scan.header), names=names)  # columns R renamed
    return data


def read_rds(path: str | os.PathLike) -> pd.DataFrame:
    """Read a data frame saved with R's ``saveRDS``."""
    return _frame(bridge.call("pybrms_read_rds", str(_path(path)), feature="core"), path)


def load_rdata(path: str | os.PathLike, object: str | None = None) -> pd.DataFrame:  # noqa: A002
    """The data frame in an ``.RData``/``.rda`` file: ``object``, or the only one there."""
    return _frame(bridge.call("pybrms_load_rdata", str(_path(path)), object, feature="core"),
                  path)


def r_dataset(name: str, package: str) -> pd.DataFrame:
    """A data set shipped with an installed R package: ``r_dataset("epilepsy", "brms")`` is
    R's ``data("epilepsy", package = "brms")``.
    """
    return bridge.to_pandas(bridge.call("pybrms_package_data", name, package, feature="core"))


def _frame(robj: Any, path: str | os.PathLike) -> pd.DataFrame:
    try:
        return bridge.to_pandas(robj)
    except TypeError as exc:
        raise DataError(f"{str(path)!r} does not hold a data frame: {exc}") from exc


def read_data(data: Any, **read_args: Any) -> Any:
    """``data`` as a DataFrame: a path is read by R (by its suffix, see :data:`R_READERS`);
    anything else is returned unchanged for the data checks to judge.

    Raises
    ------
    DataError
        For a path with a suffix R is not asked to read here.
    """
    if not isinstance(data, (str, os.PathLike)):
        return data
    p = Path(data)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return read_csv(p, **read_args)
    if suffix == ".rds":
        return read_rds(p)
    if suffix in (".rdata", ".rda"):
        return load_rdata(p, **read_args)
    raise DataError(
        f"data file {str(p)!r}: pybrms reads {', '.join(R_READERS)} files with R "
        f"({', '.join(sorted(set(R_READERS.values())))}); read other formats into a DataFrame"
    )


def spec_from(formula: Any, data: Any, family: Any = "gaussian", prior: Any = None,
              **read_args: Any) -> Any:
    """:meth:`FitSpec.build <pybrms.spec.model.FitSpec.build>` on ``data`` as given or, for a
    path, as R reads it (:func:`read_data`; the path is named in data errors).
    """
    source = str(data) if isinstance(data, (str, os.PathLike)) else None
    return FitSpec.build(formula, read_data(data, **read_args), family, prior, source=source)
