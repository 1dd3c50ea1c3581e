"""A CSV file's layout and cells, checked in Python before R reads it.

R's ``read.csv`` reads the numbers (:func:`pybrms.rread.read_csv_checked`); this module only
judges the text, so that a bad file gets an error naming its line and column instead of
R's ``fill = TRUE`` padding a short row with missing values or a stray ``n/a`` turning a
numeric column into a factor. It reads the file as ``read.csv`` does: a comma separator,
double quotes, no comment character, empty lines skipped, ``NA`` a missing value.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .validate import check_numeric_columns

#: cell texts R's ``read.csv`` reads as missing (after stripping spaces)
MISSING_TEXT: tuple[str, ...] = ("", "NA")


@dataclass(frozen=True)
class CsvScan:
    """A CSV file's header and data rows as text, with the file line each row starts on.

    Attributes
    ----------
    path : Path
        The file.
    header : list of str
        Column names as written (spaces stripped).
    rows : list of list of str
        Each data row's fields.
    lines : list of int
        File line (1-based) where each data row starts.
    """

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def check_cells(self, columns: Iterable[str], names: Sequence[str] | None = None) -> None:
        """Refuse empty (or ``NA``) cells and stray non-numbers in the columns a model uses.

        Parameters
        ----------
        columns : iterable of str
            Columns to check; those not in ``names`` are left to the caller.
        names : sequence of str, optional
            The columns' names as a reader named them (R's ``read.csv`` may rename a
            header such as ``"a b"`` to ``a.b``), in file order; default :attr:`header`.

        Raises
        ------
        DataError
            Naming the file, line, column and value.
        """
        names = list(names if names is not None else self.header)
        used = [c for c in sorted(set(columns)) if c in names]
        text = {c: [row[names.index(c)] for row in self.rows] for c in used}
        for col in used:
            empty = [i for i, v in enumerate(text[col]) if v.strip() in MISSING_TEXT]
            if empty:
                raise DataError(
                    f"{self.path}, line {self.lines[empty[0]]}, column {col!r}: empty value "
                    f"({len(empty)} empty cell(s) in {col!r}); fill or drop them first"
                )
        check_numeric_columns(pd.DataFrame(text, dtype=object), used, source=str(self.path),
                              line_numbers=self.lines)


def scan_csv(path: str | os.PathLike) -> CsvScan:
    """Read a CSV file's layout: header, rows and their lines, every row as wide as the header.

    Parameters
    ----------
    path : str or path-like
        The CSV file (first line: column names).

    Returns
    -------
    CsvScan

    Raises
    ------
    DataError
        For a missing/unreadable file, a duplicate or empty column name, a line of only
        spaces, a line with the wrong number of fields, or no data rows; the message names
        the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read data file {str(path)!r}: no such file")
    header: list[str] | None = None
    lines: list[int] = []
    rows: list[list[str]] = []
    start = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for record in reader:
                end = reader.line_num
                if not record:  # an empty line: read.csv skips it too
                    start = end + 1
                    continue
                if len(record) == 1 and not record[0].strip():
                    raise DataError(
                        f"{path}, line {start}: only spaces; R's read.csv reads such a line "
                        "as a row of missing values: delete it"
                    )
                if header is None:
                    header = [h.strip() for h in record]
                    for i, name in enumerate(header):
                        if not name:
                            raise DataError(f"{path}, line {start}: column {i + 1} has no name")
                        if name in header[:i]:
                            raise DataError(f"{path}, line {start}: column name {name!r} repeats")
                else:
                    if len(record) != len(header):
                        where = (
                            f"column {header[len(record)]!r} (no. {len(record) + 1}) is missing"
                            if len(record) < len(header)
                            else f"{len(record) - len(header)} field(s) after the last "
                            f"column {header[-1]!r}"
                        )
                        raise DataError(
                            f"{path}, line {start}: expected {len(header)} fields "
                            f"({', '.join(header)}), found {len(record)}: {where}"
                        )
                    rows.append(record)
                    lines.append(start)
                start = end + 1
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read data file {str(path)!r}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise DataError(f"{path}, line {start}: malformed CSV ({exc})") from exc
    if header is None or not rows:
        raise DataError(f"data file {str(path)!r} has no data rows")
    return CsvScan(path=path, header=header, rows=rows, lines=lines)
