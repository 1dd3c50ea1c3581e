"""Outputs of a study: the tables as CSV, the figures, and the summary (md/html/tex).

- ``estimates.csv``: one row per condition x replicate x method x estimand;
- ``performance.csv``: every measure with its Monte Carlo SE, per condition x method x
  estimand, over all replicates and over converged ones;
- ``convergence.csv``: failed / not converged / converged replicates per condition x method;
- for SBC studies ``sbc_ranks.csv`` and ``sbc_test.csv``;
- figures: bias and coverage with ``+- 1.96 MCSE`` bars by condition, a zip plot per
  condition, a nested-loop plot when several condition axes cross, and for SBC studies rank
  histograms and the ECDF-difference plot with simultaneous 95% bands;
- ``summary.md``, ``.html`` and ``.tex`` (LaTeX tables a methods paper can include),
  written by :mod:`pybrms.reporting`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_path
from ..errors import SpecError
from ..reporting import Document, Figure, Section
from .spec import condition_id

#: at most this many conditions get their own zip plot / SBC figures
MAX_CONDITION_FIGURES = 8
#: measures in the summary's headline table, in order
HEADLINE = ("bias", "empse", "modelse", "cover", "power")


def _csv(df: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


def _save(fig: Any, out: Path, stem: str, paths: dict[str, Path]) -> str:
    name = f"{stem}.png"
    with atomic_path(out / name) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    paths[stem] = out / name
    return name


def headline_table(perf: pd.DataFrame, axes: Sequence[str], subset: str = "all"
                   ) -> pd.DataFrame:
    """One row per condition x method x estimand: the headline measures as ``value (MCSE)``."""
    if perf.empty:
        return pd.DataFrame()
    rows = perf[(perf["subset"] == subset) & perf["measure"].isin(HEADLINE)]
    out = []
    for key, g in rows.groupby([*axes, "method", "term"], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip([*axes, "method", "term"], key, strict=True))
        for m in HEADLINE:
            r = g[g["measure"] == m]
            if r.empty:
                continue
            v, se = float(r["value"].iloc[0]), float(r["mcse"].iloc[0])
            row[m] = "" if pd.isna(v) else (f"{v:.3f}" if pd.isna(se) else f"{v:.3f} ({se:.3f})")
        row["n"] = int(g["n"].max())
        out.append(row)
    return pd.DataFrame(out)


def draw_figures(result: Any, paths: dict[str, Path]) -> list[Figure]:
    """Draw the study's figures into its folder; return them for the summary."""
    # matplotlib (and scipy) are heavy: the figure modules load when figures are drawn
    from .figures import (
        ecdf_diff_plot,
        measure_plot,
        nested_loop_plot,
        rank_histogram,
        zip_plot,
    )

    study, out = result.study, result.out
    axes = list(study.conditions)
    perf, est = result.performance, result.estimates
    figs: list[Figure] = []

    def add(stem: str, caption: str, draw: Any, *args: Any, **kwargs: Any) -> None:
        try:  # a figure with nothing to show (no intervals for an SD...) is left out
            fig = draw(*args, **kwargs)
        except SpecError:
            return
        figs.append(Figure(_save(fig, out, stem, paths), caption))

    usable = est[(est["error"] == "") & est["estimate"].notna() & est["conf_low"].notna()]
    for term in study.focus:
        if perf.empty or term not in set(perf["term"]):
            continue
        for measure, label in (("bias", "bias"), ("cover", "coverage")):
            add(f"{label}_{_safe(term)}", f"{label} of {term} by condition (+- 1.96 MCSE)",
                measure_plot, perf, measure, term=term)
        if len(axes) >= 2:
            add(f"nested_loop_cover_{_safe(term)}",
                f"coverage of {term}, nested-loop plot over the conditions",
                nested_loop_plot, perf, "cover", by=axes, term=term)
        rows = usable[usable["term"] == term]
        conds = rows[axes].drop_duplicates().to_dict("records") if axes else \
            ([{}] if not rows.empty else [])
        for cond in conds[:MAX_CONDITION_FIGURES]:
            add(f"zip_{_safe(term)}_{condition_id(cond)}",
                f"zip plot of {term}'s intervals, {condition_id(cond)}",
                zip_plot, est, condition=cond or None, term=term, level=study.level)
    ranks = result.ranks
    if not ranks.empty:
        conds = ranks[axes].drop_duplicates().to_dict("records") if axes else [{}]
        for cond in conds[:MAX_CONDITION_FIGURES]:
            sel = ranks
            for k, v in cond.items():
                sel = sel[sel[k] == v]
            cid = condition_id(cond)
            for method in pd.unique(sel["method"]):
                add(f"sbc_ranks_{_safe(method)}_{cid}", f"SBC rank histograms, {method}, {cid}",
                    rank_histogram, sel[sel["method"] == method], method=str(method))
            add(f"sbc_ecdf_diff_{cid}",
                f"SBC ECDF difference with simultaneous 95% bands, {cid}", ecdf_diff_plot, sel)
    return figs


def write_outputs(result: Any, run_info: dict[str, Any], *, figures: bool = True
                  ) -> dict[str, Path]:
    """Write the tables, figures and summaries of a study run; return their paths."""
    out, study = result.out, result.study
    axes = list(study.conditions)
    paths = {"estimates": _csv(result.estimates, out / "estimates.csv"),
             "performance": _csv(result.performance, out / "performance.csv"),
             "convergence": _csv(result.convergence, out / "convergence.csv")}
    if not result.ranks.empty:
        paths["sbc_ranks"] = _csv(result.ranks, out / "sbc_ranks.csv")
        paths["sbc_test"] = _csv(result.sbc, out / "sbc_test.csv")
    figs = draw_figures(result, paths) if figures else []
    intro = [f"Study: {study.name} ({study.source or 'Python API'}); seed {study.seed}",
             f"Data: {study.generator_label}; {len(study.condition_list())} condition(s) x "
             f"{run_info['reps']} replicate(s) x {len(study.methods)} method(s) = "
             f"{run_info['fits']} fit(s) on {result.workers} worker(s); "
             f"{run_info['fitted']} fitted now, {run_info['resumed']} from checkpoints; "
             f"{run_info['seconds']} s",
             f"{run_info['stan_programs']} Stan program(s) for the compiling methods "
             f"({run_info['stan_programs_compiled']} compiled in this run)",
             f"Estimands: {', '.join(study.focus) or 'every parameter (SBC)'}; intervals at "
             f"{study.level:.0%}; power at alpha = {study.alpha}",
             *(f"Note: {n}" for n in [*study.notes, *result.notes])]
    if run_info.get("quick"):
        intro.append(f"--quick: {json.dumps(run_info['quick_settings'])} (short chains)")
    sections = []
    failed = pd.DataFrame([{"task": k, "error": v.splitlines()[0][:200]}
                           for k, v in result.failed.items()])
    if not failed.empty:
        sections.append(Section("FAILED fits", failed,
                                "Each is a failure of that method on that replicate; the other "
                                "fits went on. Run the same command again to retry them."))
    sections += [
        Section("Performance (all replicates)", headline_table(result.performance, axes),
                "value (Monte Carlo SE); bias = mean(estimate - truth), empse = SD of the "
                "estimates, modelse = RMS of the model SEs, cover = share of intervals "
                "containing the truth, power = rejection rate (p < alpha, or the interval "
                "excluding 0)."),
        Section("Performance (converged replicates only)",
                headline_table(result.performance, axes, "converged")),
        Section("Convergence and failures", result.convergence,
                "Replicates per condition and method: failed (an error or no estimate), not "
                "converged (the engine's criteria; for samplers also Rhat > 1.01 or a "
                "divergence), converged."),
        Section("Cost per method", pd.DataFrame(run_info.get("cost") or []),
                "Mean wall and CPU seconds per fit; for brms also Stan's own warm-up + "
                "sampling CPU seconds and the CPU overhead beyond them (brms's build step, "
                "rstan's set-up, the summaries) as a share of them."),
    ]
    if not result.sbc.empty:
        cols = [c for c in (*axes, "method", "variable", "n", "max_rank", "p_value", "ok")
                if c in result.sbc.columns]
        sections.append(Section(
            "Simulation-based calibration", result.sbc[cols],
            "Ranks of each true value (drawn from the prior) among the thinned posterior "
            "draws; ok = the ECDF of the ranks stays inside the simultaneous 95% band "
            "(Säilynoja, Bürkner & Vehtari 2022). A miscalibrated method fails it."))
    sections.append(Section("Methods", pd.DataFrame([
        {"method": m.name, "engine": m.engine,
         "priors": "; ".join(f"{p['prior']} [{p.get('class', 'b')}]" for p in m.priors),
         "options": json.dumps(m.options, default=str)} for m in study.methods.values()])))
    if figs:
        sections.append(Section("Figures", None, "", figs))
    doc = Document(f"Simulation study: {study.name}", intro, sections)
    paths.update(doc.write(out))
    return paths
