"""The paper's published hypothesis tables (Tables 2-4) as typed DataFrames.

The CSV files live in ``comparisons/published/`` (one row per hypothesis, see its README). They
were transcribed with :func:`parse_paper_tables` from the paper's text and checked by eye;
``tests/fast/test_published.py`` re-parses the paper to check them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from .prism import CONVERSATION_TYPES
from .resources import published_dir

#: Published tables and the analysis ids their rows belong to.
TABLES: dict[str, tuple[str, ...]] = {
    "table2": ("1a", "1b", "interaction_toxicity"),
    "table3": ("2",),
    "table4": ("3",),
}
#: Conversation type (``all``, then PRISM's ``conversation_type`` values) -> its label in
#: Table 2's ``convo_type`` column, in the table's column order (the paper prints "value
#: guided" for PRISM's "values guided").
CONVO_TYPE_LABELS: dict[str, str] = {
    t: {"values guided": "value guided"}.get(t, t) for t in ("all", *CONVERSATION_TYPES)
}
#: Columns shared by every table, in file order.
BASE_COLUMNS: tuple[str, ...] = (
    "analysis",
    "hypothesis",
    "term",
    "direction",
    "estimate",
    "est_error",
    "ci_lower",
    "ci_upper",
    "bf",
    "bf_reported",
    "post_prob",
    "star",
)
#: The extra key column of each table (Table 3 has none).
EXTRA_COLUMN: dict[str, str | None] = {"table2": "convo_type", "table3": None, "table4": "dv"}
NUMERIC_COLUMNS: tuple[str, ...] = (
    "estimate",
    "est_error",
    "ci_lower",
    "ci_upper",
    "bf",
    "post_prob",
)
#: Printed hypothesis text -> brms coefficient name, where the paper's text is not one.
TERM_CORRECTIONS: dict[str, str] = {"TOXICITY x TOXICIT_HUMAN": "TOXICITY:TOXICITY_human"}
#: Section headings inside the paper's Table 2 -> analysis id.
_TABLE2_SECTIONS: dict[str, str] = {
    "(a) Analysis 1a": "1a",
    "(b) Analysis 1b": "1b",
    "Interaction (dv": "interaction_toxicity",
}
_HYPOTHESIS = re.compile(r"^\((?P<term>.+)\)\s*(?P<direction>[<>=])\s*0$")


def table_id(table: str | int) -> str:
    """Normalise ``2``, ``"2"``, ``"Table 2"`` or ``"table2"`` to ``"table2"``.

    Raises
    ------
    ValueError
        If the table is not one of the paper's Tables 2, 3 or 4.

    """
    key = re.sub(r"\s+", "", str(table)).lower()
    if not key.startswith("table"):
        key = f"table{key}"
    if key not in TABLES:
        raise ValueError(f"unknown published table {table!r}; choose one of {', '.join(TABLES)}")
    return key


def columns(table: str | int) -> tuple[str, ...]:
    """Return the column names of a published table, in file order."""
    extra = EXTRA_COLUMN[table_id(table)]
    return BASE_COLUMNS + ((extra,) if extra else ())


def parse_bf(text: str) -> float:
    """Turn a printed BF (``"3,999"``, ``"1,332.333"``, ``"<i>Inf</i>"``) into a float.

    Raises
    ------
    ValueError
        If the text is not a number or Inf.

    """
    clean = re.sub(r"</?i>", "", text).replace(",", "").strip()
    if clean == "Inf":
        return math.inf
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", clean):
        raise ValueError(f"cannot read Bayes factor {text!r}")
    return float(clean)


def load_published(table: str | int, directory: str | Path | None = None) -> pd.DataFrame:
    """Load one published table with typed columns.

    Parameters
    ----------
    table : str or int
        ``"table2"``, ``"table3"`` or ``"table4"`` (``2`` or ``"Table 2"`` work too).
    directory : str or Path, optional
        Where the CSV files are; defaults to :func:`published_dir`.

    Returns
    -------
    DataFrame
        One row per hypothesis. ``estimate``, ``est_error``, ``ci_lower``, ``ci_upper``,
        ``bf`` (``inf`` for the paper's *Inf*) and ``post_prob`` are float64; every other
        column is a string (``star`` is ``""`` when the paper prints nothing).

    Raises
    ------
    ValueError
        If the table is unknown or the file's columns are not the expected ones.

    """
    tid = table_id(table)
    path = Path(directory) if directory is not None else published_dir()
    frame = pd.read_csv(path / f"{tid}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    want = list(columns(tid))
    if list(frame.columns) != want:
        raise ValueError(f"{path / f'{tid}.csv'} has columns {list(frame.columns)}, want {want}")
    for col in NUMERIC_COLUMNS:
        frame[col] = frame[col].map(float).astype("float64")
    return frame


def _row(cells: list[str], analysis: str, extra: str | None, raw: bool) -> dict[str, object]:
    """Build one record from the tab-separated cells of a paper table line.

    With ``raw`` the numeric cells stay the printed strings (``bf`` without thousands
    separators or italics), otherwise they become floats.
    """
    num = (lambda s: s.strip()) if raw else float
    hypothesis = cells[0].strip()
    m = _HYPOTHESIS.match(hypothesis)
    if not m:
        raise ValueError(f"cannot read hypothesis {hypothesis!r}")
    term = m.group("term").strip()
    record: dict[str, object] = {
        "analysis": analysis,
        "hypothesis": hypothesis,
        "term": TERM_CORRECTIONS.get(term, term),
        "direction": m.group("direction"),
        "estimate": num(cells[1]),
        "est_error": num(cells[2]),
        "ci_lower": num(cells[3]),
        "ci_upper": num(cells[4]),
        "bf": _format_bf(cells[5]) if raw else parse_bf(cells[5]),
        "bf_reported": re.sub(r"</?i>", "", cells[5]).strip(),
        "post_prob": num(cells[6]),
        "star": cells[7].strip() if len(cells) > 7 else "",
    }
    if extra:
        record[extra] = cells[8].strip()
    return record


def parse_paper_tables(text: str, raw: bool = False) -> dict[str, pd.DataFrame]:
    """Parse Tables 2, 3 and 4 out of the paper's plain text.

    Each table starts at a line ``Table N: ...`` followed by a tab-separated header line
    starting with ``Hypothesis``; it ends at the first blank line after its rows. Table 2's
    section lines (``(a) Analysis 1a...``, ``(b) Analysis 1b...``, ``Interaction (dv...``) set
    the analysis id of the rows below them.

    Parameters
    ----------
    text : str
        The paper's text (``constructive-preferences-paper.txt``).
    raw : bool, default False
        Keep the numeric cells as the printed strings (used to write the CSV files).

    Returns
    -------
    dict of str to DataFrame
        ``{"table2": ..., "table3": ..., "table4": ...}`` with the columns of
        :func:`columns` (numbers as floats unless ``raw``).

    Raises
    ------
    ValueError
        If a table is missing or a row cannot be read.

    """
    lines = text.splitlines()
    out: dict[str, pd.DataFrame] = {}
    for tid, analyses in TABLES.items():
        number = tid[-1]
        starts = [i for i, line in enumerate(lines) if line.startswith(f"Table {number}:")]
        if not starts:
            raise ValueError(f"Table {number} not found in the paper text")
        i = starts[-1] + 1
        while i < len(lines) and not lines[i].startswith("Hypothesis\t"):
            i += 1
        if i == len(lines):
            raise ValueError(f"Table {number} has no header line")
        analysis = analyses[0]
        records = []
        for line in lines[i + 1 :]:
            if not line.strip():
                if records:
                    break
                continue
            section = next((a for k, a in _TABLE2_SECTIONS.items() if line.startswith(k)), None)
            if section is not None:
                analysis = section
                continue
            records.append(_row(line.split("\t"), analysis, EXTRA_COLUMN[tid], raw))
        out[tid] = pd.DataFrame(records, columns=list(columns(tid)))
    return out


def write_published(text: str, directory: str | Path | None = None) -> dict[str, Path]:
    """Transcribe the paper's tables into ``table2.csv``, ``table3.csv`` and ``table4.csv``.

    Numbers are written exactly as printed (``0.090`` stays ``0.090``); ``bf`` is written as
    ``Inf`` or a number without thousands separators, ``bf_reported`` as printed.

    Parameters
    ----------
    text : str
        The paper's text.
    directory : str or Path, optional
        Output directory; defaults to :func:`published_dir`.

    Returns
    -------
    dict of str to Path
        The file written for each table.

    """
    path = Path(directory) if directory is not None else published_dir()
    path.mkdir(parents=True, exist_ok=True)
    written = {}
    for tid, frame in parse_paper_tables(text, raw=True).items():
        target = path / f"{tid}.csv"
        frame.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
        written[tid] = target
    return written


def _format_bf(text: str) -> str:
    """Return the CSV's ``bf`` cell for a printed BF: ``Inf`` or the number without separators."""
    value = parse_bf(text)
    return "Inf" if math.isinf(value) else re.sub(r"</?i>", "", text).replace(",", "").strip()
