"""The replication report: ``OUT/report.md``, ``OUT/report.html``, ``OUT/tables/``, ``OUT/figures/``.

Built from the unit records and the run summary only (no R): :func:`~.content.report_content`
computes every table and value, :func:`write_tables` writes the tables' files,
:func:`build_blocks` lays the content out as blocks (headings, paragraphs, tables, figures) and
:mod:`.render` renders them twice: to Markdown, and to one self-contained HTML file (figures
embedded), so both always say the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ....atomic import atomic_write_text
from ....compare.evidence import LABEL as TAIL_LABEL
from ....compare.table import markdown_table
from .content import ReportContent, report_content
from .figures import draw_figures
from .plan import Plan
from .render import Block, to_html, to_markdown
from .tables import TITLES

CSV = {"index": False, "float_format": "%.10g"}


def write_tables(content: ReportContent, out: Path) -> None:
    """Write every table of the report as CSV (and Tables 2-4, the side-by-sides as Markdown)."""
    tdir = out / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    for tid, df in content.tables.items():
        df.to_csv(tdir / f"{tid}.csv", **CSV)
        md = [f"# {TITLES[tid]} (reproduced)", ""]
        for section, part in content.layouts[tid].groupby("section", sort=False):
            md += [f"## {section}", "", markdown_table(part.drop(columns=["section"]), digits=3), ""]
        atomic_write_text(tdir / f"{tid}.md", "\n".join(md))
    if len(content.translations):
        content.translations.to_csv(tdir / "translations.csv", **CSV)
    if len(content.published_vs_reproduced):
        content.published_vs_reproduced.to_csv(tdir / "published_vs_reproduced.csv", **CSV)
    if content.recovery is not None:
        content.truth_recovery.to_csv(tdir / "truth_recovery.csv", **CSV)
    if content.frequentist:
        fdir = tdir / "frequentist"
        fdir.mkdir(exist_ok=True)
        for model, cmp in content.frequentist.items():
            cmp.to_csv(fdir / f"{model}.csv")
            atomic_write_text(fdir / f"{model}.md", cmp.to_markdown())
    content.diagnostics.to_csv(tdir / "diagnostics.csv", **CSV)
    if len(content.loo):
        content.loo.to_csv(tdir / "loo.csv", **CSV)


def _opening(plan: Plan, summary: dict[str, Any], content: ReportContent) -> list[Block]:
    """Title, what ran, failed fits, deviations and the ambiguities' choices."""
    blocks: list[Block] = [("h1", "Replication: Human Preferences for Constructive Interactions "
                                  "in Language Model Alignment (Kyrychenko et al., 2025)")]
    n_ref = len(plan.units_for(plan.reference))
    blocks.append(("p", (
        f"{len(plan.units)} fits ({n_ref} {plan.reference}, {len(plan.units) - n_ref} by the "
        f"other engines) for {len(plan.models)} model specs; this run fitted "
        f"{len(summary['fitted'])} and resumed {len(summary['resumed'])} from checkpoints. "
        f"The {plan.reference} fits use "
        f"{summary['stan_programs_distinct']} distinct Stan program(s); "
        f"{summary['stan_programs_compiled']} were compiled in this run, the rest came from the "
        f"compile cache. Wall time of this run: {summary['seconds']:.0f} s.")))
    if "simulated_truth" in summary:
        blocks.append(("p", "**The data are simulated** (a truth.json lies beside them): the "
                            "numbers below test the pipeline, not the paper's claims."))
    failed = summary.get("failed") or {}
    if failed:
        blocks.append(("h2", "Failed fits"))
        blocks.append(("p", (
            f"{len(failed)} fit(s) raised an error and are missing from every table below "
            "(the run went on: --keep-going). They have no checkpoint: running the same command "
            "again retries them, and the fits that finished resume.")))
        blocks.append(("ul", [f"{name}: {' '.join(str(msg).split())[:1000]}"
                              for name, msg in failed.items()]))
    blocks.append(("h2", "Deviations from the paper and choices where it is ambiguous"))
    devs = list(summary.get("deviations", [])) + list(summary.get("frames", {}).get("notes", []))
    blocks.append(("ul", devs or ["none: every model ran with the specs' settings"]))
    blocks.append(("table", content.ambiguities, "ambiguities"))
    return blocks


def _paper_tables(content: ReportContent) -> list[Block]:
    """Tables 2-4 as reproduced, section by section, and the percentage translations."""
    blocks: list[Block] = [("h2", "Tables 2-4 as reproduced"), ("p", (
        "Columns as in the paper (brms::hypothesis(), alpha = 0.05: one-sided hypotheses with "
        "90% intervals). BF is brms's evidence ratio, counted over the draws (Inf when every "
        "draw is on the hypothesis's side). Star: * for BF > 100, † for BF > 10 (the paper's "
        f"rule). BF.tail is a finite estimate beyond the draw limit, a {TAIL_LABEL}: the "
        "posterior's normal tail, Phi(z)/Phi(-z) with z = mean/SD, with its Monte Carlo 95% "
        "interval from the effective sample size. It says how strong an Inf is; it is not "
        "brms's number."))]
    for tid in content.tables:
        blocks.append(("h3", f"{TITLES[tid]}"))
        for section, part in content.layouts[tid].groupby("section", sort=False):
            blocks.append(("h4", section))
            blocks.append(("table", part.drop(columns=["section"]), None))
    if len(content.translations):
        blocks.append(("h3", "Percentage translations, (exp(β) − 1) × 10%"))
        blocks.append(("p", "As in the Results: the change in the odds of the highest score "
                            "(1a) or in the score (1b) for a 10-point increase in an attribute's "
                            "probability; the interval columns translate the table's 90% bounds."))
        blocks.append(("table", content.translations, "translations"))
    return blocks


def _comparisons(content: ReportContent) -> list[Block]:
    """Published vs reproduced, and the recovery of a simulated truth."""
    blocks: list[Block] = []
    pvr = content.published_vs_reproduced
    if len(pvr):
        blocks.append(("h2", "Published vs reproduced"))
        blocks.append(("p", (
            f"{len(pvr)} published rows: same sign in {int(pvr['same_sign'].sum())}, same star in "
            f"{int(pvr['same_star'].sum())}; median |difference| = "
            f"{pvr['difference'].abs().median():.3f} ({pvr['diff_in_sd'].abs().median():.2f} "
            "published posterior SDs). diff_in_sd = (reproduced − published) / published "
            "Est.Error. Robustness rows compare a supplement model with the table it should "
            "resemble.")))
        blocks.extend(("p", text) for text in content.interval_notes)
        blocks.append(("table", pvr, None))
    test = content.recovery
    if test is not None:
        blocks.append(("h2", "Recovery of the simulated truth"))
        blocks.append(("p", (
            f"{test.within_95} of {test.n} generating values lie inside their "
            f"95% posterior interval (about {0.95 * test.n:.1f} expected); "
            f"{test.same_sign} have the generated sign. Jointly, sum of z² = "
            f"{test.sum_z2:.1f} on {test.n} df (p = {test.p_value:.3g}). Unless the "
            "data were simulated with slopes='homogeneous', the generating slopes vary by "
            "conversation type, moderator and prompt toxicity, and the single-slope model "
            "estimates a weighted average of them. lme4's estimates sit beside brms's "
            "below: a gap both engines share is in the data, not the fit.")))
        blocks.append(("table", content.truth_recovery, None))
    return blocks


def _figures_and_fits(content: ReportContent, figures: dict[str, Path]) -> list[Block]:
    """Figures, brms beside the frequentist fits, diagnostics and the LOO comparisons."""
    blocks: list[Block] = []
    if figures:
        blocks.append(("h2", "Figures"))
        blocks.append(("p", "Posterior means with 95% credible intervals (brms) beside the "
                            "frequentist estimates with 95% Wald intervals; Figure 2g/h are "
                            "means of the data with 95% intervals."))
        for pid in sorted(figures):
            blocks.append(("img", figures[pid], f"Figure {pid}"))
    if content.frequentist:
        blocks.append(("h2", "brms beside the frequentist fits"))
        blocks.append(("p", "Per model: estimates with 95% intervals per engine; diff_se_units = "
                            "(estimate − brms estimate) / brms posterior SD. Then each one-sided "
                            "hypothesis: brms's posterior probability and evidence ratio beside "
                            "the frequentist one-sided p-value and its Bayes-factor bound."))
        for model, cmp in content.frequentist.items():
            blocks.append(("h3", model))
            blocks.append(("table", cmp.wide, None))
            if len(cmp.hypotheses):
                blocks.append(("table", cmp.hypotheses, None))
    blocks.append(("h2", "Convergence diagnostics"))
    blocks.append(("table", content.diagnostics, None))
    if len(content.loo):
        blocks.append(("h2", "Supplement: ELPD with vs without the model (LLM) random effect"))
        blocks.append(("p", "elpd_diff = elpd_loo(with) − elpd_loo(without) from brms::loo(); "
                            "se_diff as loo::loo_compare computes it."))
        blocks.append(("table", content.loo, None))
    return blocks


def _provenance(summary: dict[str, Any], content: ReportContent) -> list[Block]:
    """Data, scorers, frame options, versions, settings per fit, the data pipeline's steps."""
    frames = summary.get("frames", {})
    opts = frames.get("options", {})
    blocks: list[Block] = [("h2", "Provenance"), ("ul", [
        f"data folder: {summary.get('data')}; scores: {summary.get('scores')}",
        f"scorers: {', '.join(opts.get('scorers') or []) or 'unknown'}; scoring dates: "
        f"{' to '.join(map(str, opts.get('scored_at') or [])) or 'unknown'}",
        f"frame options: reasoning_nuance = {opts.get('reasoning_nuance')}, "
        f"ties = {opts.get('ties')}",
        "analysis frames (rows): " + ", ".join(f"{k}: {v}" for k, v in frames.get("frames", {}).items()),
        "versions: " + ", ".join(f"{k} {v}" for k, v in content.versions.items()),
        f"Python {summary.get('python')}",
    ])]
    if len(content.data_files):
        blocks.append(("table", content.data_files, None))
    blocks.append(("h3", "Settings per brms fit"))
    blocks.append(("table", content.settings, None))
    if len(content.steps):
        blocks.append(("h3", "Data pipeline: rows after each step"))
        blocks.append(("table", content.steps, None))
    return blocks


def build_blocks(plan: Plan, summary: dict[str, Any], content: ReportContent,
                 figures: dict[str, Path]) -> list[Block]:
    """Lay the report out as blocks (see :mod:`.render`); no computing, no files.

    Parameters
    ----------
    plan : Plan
        The run's plan (its counts open the report).
    summary : dict
        The run summary.
    content : ReportContent
        From :func:`~.content.report_content`.
    figures : dict of str to Path
        Figure id -> PNG (:func:`~.figures.draw_figures`).
    """
    return [*_opening(plan, summary, content), *_paper_tables(content),
            *_comparisons(content), *_figures_and_fits(content, figures),
            *_provenance(summary, content)]


def write_report(plan: Plan, records: dict[str, dict[str, Any]], summary: dict[str, Any],
                 out: str | Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``tables/`` and ``figures/`` under ``out``.

    Returns
    -------
    dict of str to Path
        ``md`` and ``html``.
    """
    out = Path(out)
    content = report_content(plan, records, summary)
    write_tables(content, out)
    figures = draw_figures(plan, records, summary, out / "figures")
    blocks = build_blocks(plan, summary, content, figures)
    md, page = out / "report.md", out / "report.html"
    atomic_write_text(md, to_markdown(blocks))
    atomic_write_text(page, to_html(blocks))
    return {"md": md, "html": page}
