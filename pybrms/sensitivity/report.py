"""Outputs of a grid run: ``cells.csv``, the specification curve and the summary (md/html/tex).

The summary answers, per focus term: in what share of cells the estimate has the same sign and
the same significance (95% interval excluding 0); how much of the estimate's variance over
the cells each axis explains (main-effect sums of squares over the total, per engine); how brms
and lme4 agree cell by cell; every fit's diagnostics (Rhat, ESS, divergences, singular fits);
brms's prior/likelihood power-scaling sensitivity; and "N Stan programs for M brms cells".
Cells that share one fit (an engine without priors, on cells that differ only in priors) keep
a row each in ``cells.csv`` (column ``fit`` names the fit), count once in the robustness
shares and the diagnostics, and are drawn once on the curve.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..engines import get_engine
from ..reporting import Document, Figure, Section
from .cellfit import CellTask
from .curve import specification_curve
from .grid import Grid

#: columns of cells.csv before the axis columns are inserted after ``cell``; ``fit`` names the
#: task whose fit the row reports (``<cell>__<engine>``): another cell's when this cell shares
#: it (an engine that takes no priors, on cells that differ only in priors)
CELL_COLUMNS = ("cell", "engine", "effect", "term", "estimate", "std_error", "conf_low",
                "conf_high", "p_value", "post_prob", "converged", "fit")


def fit_name(record: dict[str, Any]) -> str:
    """The task whose fit a record reports: its own, or the one it shares."""
    return str(record.get("shared_with") or record.get("name")
               or f"{record['cell']}__{record['engine']}")


def own_fits(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The records of fits made (not those shared by other cells)."""
    return {k: r for k, r in records.items() if not r.get("shared_with")}


def cells_frame(grid: Grid, records: dict[str, dict[str, Any]], cells: Sequence[Any]
                ) -> pd.DataFrame:
    """One row per cell x engine x term (both effects), an axis column per axis."""
    choices = {c.id: dict(c.choices) for c in cells}
    rows = []
    for rec in records.values():
        cell = rec["cell"]
        if cell not in choices:
            continue
        for t in rec.get("tidy", []):
            row = {"cell": cell, **choices[cell], "engine": rec["engine"],
                   "effect": t["effect"], "term": t["term"]}
            for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value",
                        "post_prob"):
                v = t.get(col)
                row[col] = float(v) if v is not None else np.nan
            row["converged"] = bool(rec.get("converged", True))
            row["fit"] = fit_name(rec)
            rows.append(row)
    axes = list(grid.axes)
    cols = ["cell", *axes, *CELL_COLUMNS[1:]]
    df = pd.DataFrame(rows, columns=cols)
    order = {c.id: i for i, c in enumerate(cells)}
    df["_o"] = df["cell"].map(order)
    return df.sort_values(["_o", "engine"], kind="stable").drop(columns="_o").reset_index(drop=True)


def focus_terms(grid: Grid, df: pd.DataFrame) -> list[str]:
    """The grid's focus terms, or every population-level term but the Intercept."""
    fixed = df[df["effect"] == "fixed"]
    if grid.base.get("focus"):
        return [t for t in grid.base["focus"]]
    return [t for t in dict.fromkeys(fixed["term"]) if t != "Intercept"]


def significant(df: pd.DataFrame) -> pd.Series:
    """95% interval excludes 0 (both engines' intervals are at the same level)."""
    return (df["conf_low"] > 0) | (df["conf_high"] < 0)


def distinct_fits(df: pd.DataFrame) -> pd.DataFrame:
    """One row per fit and term: rows of cells that share a fit (column ``fit``) counted once."""
    if "fit" not in df.columns:
        return df
    return df.drop_duplicates(subset=["fit", "effect", "term"], keep="first")


def robustness(df: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    """Per focus term and engine: cells, distinct fits, and over the fits the share with the
    majority sign and the share significant (a fit several cells share counts once).
    """
    rows = []
    fixed = df[df["effect"] == "fixed"]
    for term in terms:
        for engine, cells in fixed[fixed["term"] == term].groupby("engine", sort=False):
            g = distinct_fits(cells)
            sign = np.sign(g["estimate"])
            major = 1.0 if (sign > 0).sum() >= (sign < 0).sum() else -1.0
            sig = significant(g)
            rows.append({"term": term, "engine": engine, "cells": len(cells), "fits": len(g),
                         "median estimate": float(g["estimate"].median()),
                         "range": f"{g['estimate'].min():.3g} to {g['estimate'].max():.3g}",
                         "same sign": float((sign == major).mean()),
                         "significant": float(sig.mean()),
                         "same significance": float(max(sig.mean(), 1 - sig.mean()))})
    return pd.DataFrame(rows)


def variance_by_axis(df: pd.DataFrame, terms: Sequence[str], axes: Sequence[str]
                     ) -> pd.DataFrame:
    """Share of each focus estimate's variance over cells explained by each axis.

    Sequential sums of squares of a linear model of the estimate on the axes' option
    indicators, added in axis order (each axis's share is what it explains beyond the axes
    before it), over the total sum of squares, per engine; ``residual`` is the rest
    (interactions). In a full, balanced grid these are the axes' main-effect sums of squares,
    whatever the order; in a one-at-a-time design the shares add up to 1.
    """
    rows = []
    fixed = df[df["effect"] == "fixed"]
    for term in terms:
        for engine, g in fixed[fixed["term"] == term].groupby("engine", sort=False):
            y = g["estimate"].to_numpy(float)
            total = float(((y - y.mean()) ** 2).sum())
            row: dict[str, Any] = {"term": term, "engine": engine, "variance": float(np.var(y))}
            design = np.ones((len(y), 1))
            prev = total
            for axis in axes:
                dummies = pd.get_dummies(g[axis].astype(str), drop_first=True, dtype=float)
                design = np.hstack([design, dummies.to_numpy()])
                beta, *_ = np.linalg.lstsq(design, y, rcond=None)
                rss = float(((y - design @ beta) ** 2).sum())
                row[axis] = (prev - rss) / total if total > 0 else 0.0
                prev = rss
            row["residual"] = prev / total if total > 0 else 0.0
            rows.append(row)
    return pd.DataFrame(rows)


def agreement(df: pd.DataFrame, terms: Sequence[str], a: str = "brms", b: str = "lme4"
              ) -> pd.DataFrame:
    """Per cell and focus term: the two engines' estimates, difference in SEs, same sign and
    significance.
    """
    fixed = df[(df["effect"] == "fixed") & df["term"].isin(terms)]
    left = fixed[fixed["engine"] == a].set_index(["cell", "term"])
    right = fixed[fixed["engine"] == b].set_index(["cell", "term"])
    both = left.join(right, lsuffix=f"_{a}", rsuffix=f"_{b}", how="inner")
    if both.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        f"{a}": both[f"estimate_{a}"], f"{b}": both[f"estimate_{b}"],
        "difference / SE": (both[f"estimate_{a}"] - both[f"estimate_{b}"])
        / both[[f"std_error_{a}", f"std_error_{b}"]].max(axis=1),
        "same sign": np.sign(both[f"estimate_{a}"]) == np.sign(both[f"estimate_{b}"]),
    })
    sig_a = (both[f"conf_low_{a}"] > 0) | (both[f"conf_high_{a}"] < 0)
    sig_b = (both[f"conf_low_{b}"] > 0) | (both[f"conf_high_{b}"] < 0)
    out["same significance"] = sig_a == sig_b
    return out.reset_index()


def diagnostics(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every fit's diagnostics."""
    rows = []
    for name, rec in sorted(records.items()):
        d = rec.get("diagnostics") or {}
        rows.append({"task": name, "converged": rec.get("converged"),
                     "singular": rec.get("singular"),
                     "Rhat max": d.get("rhat_max", np.nan),
                     "ESS bulk min": d.get("ess_bulk_min", np.nan),
                     "ESS tail min": d.get("ess_tail_min", np.nan),
                     "divergences": d.get("divergences", np.nan),
                     "warnings": len(rec.get("warnings", [])),
                     "seconds": rec.get("seconds", np.nan)})
    return pd.DataFrame(rows)


def power_table(records: dict[str, dict[str, Any]], terms: Sequence[str]) -> pd.DataFrame:
    """Power-scaling sensitivity (brms) of the focus terms, per cell."""
    rows = []
    for rec in records.values():
        for r in rec.get("power_scaling") or []:
            if r["term"] in terms:
                rows.append({"cell": rec["cell"], "term": r["term"], "prior": r["prior"],
                             "likelihood": r["likelihood"], "diagnosis": r["diagnosis"],
                             "pareto k (prior)": r["pareto_k_prior"]})
    return pd.DataFrame(rows)


def engines_table(run_info: dict[str, Any]) -> pd.DataFrame:
    """Per engine: exact or not, the cells it covers and the fits it made for them."""
    rows = []
    shared = run_info.get("shared_fits") or {}
    for engine, cells in (run_info.get("cells_by_engine") or {}).items():
        n_shared = sum(1 for c in cells if f"{c}__{engine}" in shared)
        rows.append({"engine": engine, "exact": bool(get_engine(engine).capabilities.exact),
                     "cells": len(cells), "fits": len(cells) - n_shared,
                     "cell ids": ", ".join(cells)})
    return pd.DataFrame(rows)


def sharing_lines(run_info: dict[str, Any]) -> list[str]:
    """Per engine whose cells share fits: how many fits for how many cells, and why."""
    shared = run_info.get("shared_fits") or {}
    lines = []
    for engine, cells in (run_info.get("cells_by_engine") or {}).items():
        n = sum(1 for c in cells if f"{c}__{engine}" in shared)
        if not n:
            continue
        why = ("it takes no priors, so cells that differ only in priors are one model"
               if not get_engine(engine).capabilities.uses_priors
               else "cells with the same model, priors, data and options are one model")
        lines.append(f"{engine}: {len(cells) - n} fit(s) for {len(cells)} cell(s): {why}, "
                     f"fitted once and drawn once on the curve (cells.csv: column fit)")
    return lines


def pilots_table(run_info: dict[str, Any]) -> pd.DataFrame:
    """One row per pilot check: cell, engine, verdict, largest |z|."""
    return pd.DataFrame([{"engine": p["engine"], "vs": p["reference"], "cell": p["cell"],
                          "formula": p["formula"], "agree": p["ok"],
                          "max |z|": round(float(p["max_abs_z"]), 2),
                          "parameters": p["parameters"], "verdict": p["verdict"]}
                         for p in run_info.get("pilots") or []])


def write_outputs(grid: Grid, result: Any, tasks: Sequence[CellTask], run_info: dict[str, Any]
                  ) -> dict[str, Path]:
    """Write cells.csv, the curve and the summaries; return their paths."""
    out = result.out
    df = cells_frame(grid, result.records, result.cells)
    paths = {"cells": out / "cells.csv"}
    with atomic_path(paths["cells"]) as tmp:
        df.to_csv(tmp, index=False)
    terms = focus_terms(grid, df)
    if not df.empty and terms:
        paths.update(specification_curve(df, terms, list(grid.axes), out))
    brms_cells = run_info["brms_cells"]
    headline = (f"{run_info['stan_programs']} Stan program(s) for {brms_cells} brms cell(s) "
                f"({run_info['stan_programs_compiled']} compiled in this run; prior constants "
                f"{'passed as data (stanvars)' if run_info['prior_constants_as_data'] else 'in the Stan code: the brms engine has no stanvars option'})")
    sections = [
        ("Robustness of the focus terms", robustness(df, terms),
         "Share of cells whose estimate has the majority sign, and whose 95% interval excludes 0."),
        ("Variance of each focus estimate by axis", variance_by_axis(df, terms, list(grid.axes)),
         "Share of the variance over cells that each axis explains (sequential sums of squares "
         "in axis order; in a full balanced grid, each axis's main effect), per engine; "
         "residual: interactions."),
        ("brms vs lme4, cell by cell", agreement(df, terms), ""),
        ("Prior and likelihood sensitivity (power-scaling, brms)",
         power_table(own_fits(result.records), terms),
         "Kallioinen et al. (2024): CJS distance per log2(alpha); >= 0.05 to both prior and "
         "likelihood flags a prior-data conflict, to the prior only a strong prior / weak "
         "likelihood."),
        ("Which engine fitted which cells", engines_table(run_info),
         "Engines that are not exact (fast: brms's model and priors sampled by nutpie) agree "
         "with brms within Monte Carlo error, not bit for bit."),
        ("Pilot checks of inexact engines against brms", pilots_table(run_info),
         "Before an inexact engine's cells run, the first cell of each model structure is "
         "fitted by it and by brms on a reduced run and compared with pybrms.verify "
         "(difference in means in combined MCSEs, SD ratio, interval overlap)."
         + ("" if run_info.get("pilot_checks", True) else " Pilot checks were OFF in this run.")),
        ("Diagnostics of every fit", diagnostics(own_fits(result.records)), ""),
        ("Cells", pd.DataFrame([{"cell": c.id, **c.choices} for c in result.cells]), ""),
    ]
    failed = pd.DataFrame([{"task": k, "error": v.splitlines()[0][:200]}
                           for k, v in result.failed.items()])
    if not failed.empty:
        sections.insert(0, ("FAILED tasks", failed, "Run the same command again to retry them."))
    fits = run_info.get("fits", len(tasks))
    intro = [f"Grid: {grid.source or '(in memory)'}",
             f"{len(result.cells)} cell(s), {fits} fit(s) for {len(tasks)} cell x engine "
             f"pair(s) on {result.workers} worker(s); "
             f"{len(result.fitted)} fitted now, {len(result.resumed)} from checkpoints; "
             f"{run_info['seconds']} s",
             headline, *sharing_lines(run_info), *(f"Note: {n}" for n in grid.notes),
             *(f"Note: {n}" for n in run_info.get("check_notes") or [])]
    if run_info.get("quick"):
        intro.append(f"--quick: {json.dumps(run_info['quick_settings'])} (not converged runs)")
    alt = f"specification curve: {', '.join(terms)} in every cell"
    figures = ([Figure("specification_curve.png", "specification curve", tex=False, alt=alt)]
               if "curve_png" in paths else [])
    doc = Document("Sensitivity summary", intro,
                   [Section(title, table, note) for title, table, note in sections], figures)
    paths.update(doc.write(out))
    return paths
