"""A sensitivity grid: a base model, axes of named options, exclusions; parsed and checked.

A grid file (TOML)::

    [base]
    data = "cbpp.csv"                 # relative to the grid file (CSV: read by R's read.csv)
    formula = "incidence | trials(size) ~ period + (1 | herd)"
    family = "binomial"
    prior = [{ prior = "normal(0, 5)", class = "b" }]
    chains = 2
    iter = 1000
    seed = 11
    engines = ["brms", "lme4"]
    focus = ["period2", "period4"]

    [axes.prior.wide]                 # axis "prior", option "wide"
    prior = [{ prior = "normal(0, 5)", class = "b" }]
    [axes.prior.tight]
    prior = [{ prior = "normal(0, 0.5)", class = "b" }]

    [axes.herds.all]                  # an option that changes nothing
    [axes.herds.no_herd_1]
    filter = "herd != 1"

    [[exclude]]                       # skip cells with all of these options
    prior = "tight"
    herds = "no_herd_1"

Every option overrides fields of ``[base]`` (:data:`OPTION_FIELDS`); ``transform`` and
``filter`` accumulate over axes, any other field set by two axes of one cell must agree.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..design import check_exclusions, excluded
from ..errors import SpecError
from ..rread import read_csv_checked
from ..spec.tomlfile import check_fields, read_toml

#: fields an axis option may set
OPTION_FIELDS: tuple[str, ...] = (
    "formula", "family", "prior", "prior_classes", "data", "engines", "transform", "filter",
    "seed", "chains", "iter", "warmup", "frame_options",
)
#: fields of ``[base]``: the option fields plus the grid-wide ones
BASE_FIELDS: tuple[str, ...] = OPTION_FIELDS + ("focus", "engine_options", "conf_level",
                                                 "task_timeout", "retries", "memory_limit")
#: ``[base]`` fields that limit the run's tasks (:class:`pybrms.runs.limits.Limits`), not models
RUN_FIELDS: tuple[str, ...] = ("task_timeout", "retries", "memory_limit")
#: fields that add up over axes instead of being overridden
ACCUMULATE: tuple[str, ...] = ("transform", "filter")
_PRIOR_KEYS = ("prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub")


@dataclass(frozen=True)
class Option:
    """One named option of an axis: the base fields it overrides."""

    axis: str
    name: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Cell:
    """One combination of options: its id, its choices and its merged model settings."""

    id: str
    choices: Mapping[str, str]
    settings: Mapping[str, Any]

    @property
    def engines(self) -> list[str]:
        """Engines that fit this cell."""
        return list(self.settings["engines"])


@dataclass
class Grid:
    """A parsed grid.

    Attributes
    ----------
    base : dict
        The ``[base]`` table (``data`` resolved to a path or a DataFrame).
    axes : dict of str to list of Option
        Axis name -> its options, in file order.
    exclude : list of dict
        Each a mapping axis -> option name; a cell matching all of one is skipped.
    root : Path
        Folder that relative ``data`` paths are read from.
    data_builder : callable, optional
        ``(data, frame_options) -> DataFrame`` for grids whose data are built (``--from``);
        default: read ``data`` as a CSV/parquet path.
    source : str
        Where the grid came from (provenance).
    notes : list of str
        Deviations and choices made while building the grid (``--from``).
    """

    base: dict[str, Any]
    axes: dict[str, list[Option]]
    exclude: list[dict[str, str]] = field(default_factory=list)
    root: Path = field(default_factory=Path.cwd)
    data_builder: Callable[[Any, Mapping[str, str]], pd.DataFrame] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def cells(self, design: str = "full") -> list[Cell]:
        """Every cell of the product of the axes, minus the excluded ones.

        ``design="one_at_a_time"`` keeps only the base cell (every axis at its first option)
        and the cells that change one axis from it.

        Raises
        ------
        SpecError
            If two axes set one field to different values in a cell, or no cell is left.
        """
        if design not in ("full", "one_at_a_time"):
            raise SpecError(f"design must be 'full' or 'one_at_a_time', got {design!r}")
        names = list(self.axes)
        out = []
        for combo in itertools.product(*(self.axes[a] for a in names)):
            choices = {o.axis: o.name for o in combo}
            moved = sum(o.name != self.axes[o.axis][0].name for o in combo)
            if design == "one_at_a_time" and moved > 1:
                continue
            if excluded(choices, self.exclude):
                continue
            settings = dict(self.base)
            setters: dict[str, str] = {}
            for opt in combo:
                for key, value in opt.fields.items():
                    if key in ACCUMULATE:
                        settings[key] = list(settings.get(key) or []) + _as_list(value)
                    elif key in setters and settings[key] != value:
                        raise SpecError(
                            f"options {setters[key]} and {opt.axis}.{opt.name} both set "
                            f"{key!r} to different values; exclude that combination or move "
                            "the field to one axis"
                        )
                    else:
                        settings[key] = value
                        setters[key] = f"{opt.axis}.{opt.name}"
            cell_id = "__".join(o.name for o in combo) or "base"
            out.append(Cell(id=cell_id, choices=choices, settings=settings))
        if not out:
            raise SpecError(f"the grid {self.source or ''} has no cell left after its "
                            f"{len(self.exclude)} exclusion(s)")
        return out

    def load_data(self, data: Any, frame_options: Mapping[str, str] | None) -> pd.DataFrame:
        """The data of a cell before its transforms."""
        if self.data_builder is not None:
            return self.data_builder(data, dict(frame_options or {}))
        if frame_options:
            raise SpecError("frame_options only apply to grids built with --from")
        if isinstance(data, pd.DataFrame):
            return data
        return read_table(self.root, data)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def read_table(root: Path, data: Any) -> pd.DataFrame:
    """Read a CSV or parquet file named relative to ``root``.

    A CSV is read by R's ``read.csv`` (:func:`pybrms.rread.read_csv_checked`), so a cell
    fits the doubles an R script's ``brm()`` call would see; parquet keeps its own types.

    Raises
    ------
    SpecError
        If the path is missing, absent, or not ``.csv``/``.parquet``.
    DataError
        For a malformed CSV (naming the line).
    """
    if not isinstance(data, (str, os.PathLike)):
        raise SpecError("base.data must be a CSV or parquet path (relative to the grid file)")
    path = Path(data)
    path = path if path.is_absolute() else root / path
    if not path.exists():
        raise SpecError(f"data file {str(path)!r} does not exist")
    if path.suffix.lower() == ".csv":
        return read_csv_checked(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise SpecError(f"data file {str(path)!r}: only .csv and .parquet are read")


def _check_priors(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(p, Mapping) for p in value):
        raise SpecError(f"{where}: prior must be a list of tables "
                        "like [{ prior = \"normal(0, 1)\", class = \"b\" }]")
    for p in value:
        check_fields(p, _PRIOR_KEYS, f"{where}: prior entry")
        if "prior" not in p:
            raise SpecError(f"{where}: prior entry {dict(p)} has no 'prior'")
    return [dict(p) for p in value]


def _check_values(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = dict(table)
    if "prior" in out:
        out["prior"] = _check_priors(out["prior"], where)
    if "engines" in out:
        eng = out["engines"]
        out["engines"] = [e.strip() for e in eng.split(",")] if isinstance(eng, str) else list(eng)
    for key in ("seed", "chains", "iter", "warmup"):
        v = out.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise SpecError(f"{where}: {key} must be an integer, got {v!r}")
    for key in ACCUMULATE:
        if key in out:
            items = _as_list(out[key])
            if not all(isinstance(t, str) and t.strip() for t in items):
                raise SpecError(f"{where}: {key} must be a string or a list of strings")
            out[key] = items
    if "prior_classes" in out:
        out["prior_classes"] = _as_list(out["prior_classes"])
    return out


def parse_grid(table: Mapping[str, Any], root: str | os.PathLike = ".",
               source: str = "") -> Grid:
    """Build a :class:`Grid` from a parsed TOML table.

    Raises
    ------
    SpecError
        For an unknown table or field, an option of no table form, an exclusion naming an
        unknown axis or option.
    """
    check_fields(table, ("base", "axes", "exclude"), f"grid {source}".strip())
    if "base" not in table:
        raise SpecError(f"grid {source}: no [base] table")
    base = _check_values(table["base"], "[base]")
    check_fields(base, BASE_FIELDS, "[base]")
    for key in ("formula", "data"):
        if key not in base:
            raise SpecError(f"[base] needs {key!r}")
    base.setdefault("family", "gaussian")
    base.setdefault("engines", ["brms", "lme4"])
    base.setdefault("focus", [])
    base["focus"] = _as_list(base["focus"])
    axes: dict[str, list[Option]] = {}
    for axis, options in dict(table.get("axes", {})).items():
        if not isinstance(options, Mapping) or not options:
            raise SpecError(f"[axes.{axis}] must hold at least one [axes.{axis}.OPTION] table")
        axes[axis] = []
        for name, fields in options.items():
            where = f"[axes.{axis}.{name}]"
            if not isinstance(fields, Mapping):
                raise SpecError(f"{where}: an option is a table of fields, got {fields!r} "
                                f"(write [axes.{axis}.{name}] with fields under it)")
            check_fields(fields, OPTION_FIELDS, where)
            axes[axis].append(Option(axis, name, _check_values(fields, where)))
    exclude = check_exclusions(list(table.get("exclude", [])),
                               {a: [o.name for o in opts] for a, opts in axes.items()})
    return Grid(base=base, axes=axes, exclude=exclude, root=Path(root), source=source)


def load_grid(path: str | os.PathLike) -> Grid:
    """Read and parse a grid file (TOML)."""
    path = Path(path)
    return parse_grid(read_toml(path, "grid file"), root=path.parent, source=str(path))
