"""The replication report: ``OUT/report.md``, ``OUT/report.html``, ``OUT/tables/``, ``OUT/figures/``.

Built from the unit records and the run summary only (no R). The report is a list of blocks
(headings, paragraphs, tables, figures) rendered twice: to Markdown, and to one self-contained
HTML file (figures embedded), so both always say the same thing.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ....atomic import atomic_write_text
from ....compare.evidence import LABEL as TAIL_LABEL
from ....compare.table import markdown_table
from .figures import draw_figures
from .plan import Plan
from .spec import CONVO_TYPE_LABELS
from .tables import (
    TITLES,
    diagnostics_table,
    frequentist_tables,
    loo_table,
    paper_layout,
    paper_tables,
    published_vs_reproduced,
    translations,
)

Block = tuple[Any, ...]


def truth_recovery(tables: dict[str, pd.DataFrame], plan: Plan,
                   records: dict[str, dict[str, Any]], truth: dict[str, Any]) -> pd.DataFrame:
    """Generating values of a simulated dataset beside the reproduced rows.

    Only the imposed parts of the simulator's truth are compared: Table 2(b) per conversation
    type, the toxicity interaction, Table 3 and Table 4 (Analysis 1a is implied, not imposed).
    Columns: ``table``, ``model``, ``term``, ``key``, ``truth``, ``estimate``, ``std_error``
    (posterior SD), ``z`` ((estimate - truth) / SD), ``conf_low``, ``conf_high`` (95% posterior
    interval), ``within_95``, ``same_sign``.
    """
    label_to_type = {v: k for k, v in CONVO_TYPE_LABELS.items()}
    tidies: dict[str, pd.DataFrame] = {}  # model -> its brms tidy rows, indexed by term
    rows = []
    for table, df in tables.items():
        for _, r in df.iterrows():
            value = None
            if table == "table2" and r["analysis"] == "1b":
                ctype = label_to_type.get(r["convo_type"], r["convo_type"])
                src = truth.get("analysis_1b") if ctype == "all" else \
                    truth.get("analysis_1b_per_type_implied", {}).get(ctype)
                value = (src or {}).get(r["term"])
            elif table == "table2" and r["analysis"] == "interaction_toxicity":
                value = truth.get("toxicity_interaction", {}).get(r["term"])
            elif table == "table3" and ":" in str(r["term"]):
                mod, attr = r["term"].split(":", 1)
                value = truth.get("analysis_2_moderation", {}).get(mod.removesuffix("TRUE"), {}).get(attr)
            elif table == "table4":
                value = truth.get("analysis_3", {}).get(r["dv"], {}).get(r["term"])
            if value is None:
                continue
            if r["model"] not in tidies:
                unit = plan.unit_of(r["model"], plan.reference)
                tidies[r["model"]] = pd.DataFrame(records[unit.name]["tidy"]).set_index("term")
            tidy = tidies[r["model"]]
            lo, hi = float(tidy.loc[r["term"], "conf_low"]), float(tidy.loc[r["term"], "conf_high"])
            est = float(tidy.loc[r["term"], "estimate"])
            sd = float(tidy.loc[r["term"], "std_error"])
            rows.append({"table": table, "model": r["model"], "term": r["term"],
                         "key": r.get("convo_type", r.get("dv", "")), "truth": float(value),
                         "estimate": est, "std_error": sd, "z": (est - float(value)) / sd,
                         "conf_low": lo, "conf_high": hi,
                         "within_95": bool(lo <= value <= hi),
                         "same_sign": bool(np.sign(est) == np.sign(value))})
    return pd.DataFrame(rows)


def _generating_value(row: pd.Series, truth: dict[str, Any]) -> float | None:
    """The simulator's generating value for a Table 2(b) row, if ``truth`` states one."""
    if row["table"] != "table2" or row["analysis"] != "1b":
        return None
    ctype = {v: k for k, v in CONVO_TYPE_LABELS.items()}.get(row["key"], row["key"])
    src = truth.get("analysis_1b") if ctype == "all" else \
        truth.get("analysis_1b_per_type_implied", {}).get(ctype)
    value = (src or {}).get(row["term"])
    return None if value is None else float(value)


def explain_miss(row: pd.Series, truth: dict[str, Any] | None) -> str:
    """Say in words why a published estimate lies outside the reproduced 95% interval."""
    sd = float(row["reproduced_sd"])
    away = (float(row["published"]) - float(row["reproduced"])) / sd
    head = (f"{row['analysis']} {row['term']} ({row['key'] or 'all'}): published "
            f"{row['published']:.3f} lies {abs(away):.1f} posterior SDs "
            f"{'above' if away > 0 else 'below'} the reproduced {row['reproduced']:.3f} "
            f"[{row['reproduced_low_95']:.3f}, {row['reproduced_high_95']:.3f}].")
    if truth is None:
        return head + (" On real data this is a disagreement with the paper: look at the "
                       "data, the scorer and the choices listed under deviations.")
    gen = _generating_value(row, truth)
    if gen is not None:
        z = (float(row["reproduced"]) - gen) / sd
        if abs(gen - float(row["published"])) < 0.25 * sd:
            return head + (f" The data were generated with {gen:.3f}, so this is this "
                           f"dataset's noise (the estimate is {z:+.1f} SDs from its generating "
                           "value; with 95% intervals about 1 row in 20 misses by chance).")
        why = ("slopes='homogeneous': every type has Table 2b's \"all\" slopes"
               if truth.get("slopes") == "homogeneous" else
               "per-type slopes are centred so that their share-weighted average is Table "
               "2b's \"all\" row")
        return head + (f" The generating value is {gen:.3f}, not the published one ({why}); "
                       f"the estimate is {z:+.1f} SDs from it.")
    if row["analysis"] == "1a":
        ctype = {v: k for k, v in CONVO_TYPE_LABELS.items()}.get(row["key"], row["key"])
        scale = truth.get("score_scale", {})
        gam = ((scale.get("all") if ctype in ("all", "") else
                scale.get("per_type", {}).get(ctype)) or {}).get(row["term"])
        how = ("" if gam is None else
               f" (its residual-scale slope is {gam:+.2f}; 0 means the attribute varies too "
               "little within an interaction for the scale to move the highest score)")
        return head + (" Analysis 1a is not imposed: the highest score follows from the "
                       "simulated scores, whose mean follows Table 2b and whose "
                       f"within-interaction spread was calibrated towards Table 2a{how}; see "
                       "pybrms/data/bundled/README.md for what that calibration can and "
                       "cannot reach.")
    return head + " The simulator does not impose this row."


def interval_summary(pvr: pd.DataFrame, truth: dict[str, Any] | None) -> list[str]:
    """Paragraphs: how many published estimates lie inside the reproduced 95% intervals.

    One paragraph counts them per table and analysis; one more per reproduction row whose
    published estimate lies outside says why (:func:`explain_miss`).
    """
    known = pvr[pvr["published_inside_95"].notna()]
    if known.empty:
        return []
    rep = known[known["role"] == "reproduction"]
    parts = []
    for (table, analysis), g in rep.groupby(["table", "analysis"], sort=False):
        parts.append(f"{table} {analysis}: {int(g['published_inside_95'].sum())} of {len(g)}")
    out = [("Published estimate inside the reproduced 95% interval (column "
            "published_inside_95): " + "; ".join(parts) + ".")]
    misses = rep[~rep["published_inside_95"].astype(bool)]
    out += [explain_miss(r, truth) for _, r in misses.iterrows()]
    return out


def _versions(plan: Plan, records: dict[str, dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in records.values():
        v = r.get("provenance", {}).get("versions", {})
        for k, val in v.items():
            out.setdefault(k if r["engine"] == plan.reference else f"{r['engine']}: {k}", str(val))
    return out


def _settings(plan: Plan, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for u in plan.units_for(plan.reference):
        r = records.get(u.name, {})
        m = u.model
        rows.append({"model": m.name, "also_reported_as": ", ".join(a.name for a in u.aliases[1:]),
                     "family": m.family, "formula": m.formula,
                     "priors": "; ".join(f"{p.prior} (class {p.class_})" for p in m.priors),
                     "chains": m.chains, "warmup": m.warmup, "draws": m.draws, "seed": m.seed,
                     "rows": r.get("n_rows"), "data_sha256": str(r.get("data_hash", ""))[:16],
                     "stan_program": str(r.get("stan_program", ""))[:12]})
    return pd.DataFrame(rows)


def _ambiguities(plan: Plan) -> pd.DataFrame:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for a in plan.analyses.values():
        for amb in a.ambiguities.values():
            row = seen.setdefault((amb.key, amb.choice), {
                "ambiguity": amb.key, "choice": amb.choice,
                "alternatives": ", ".join(amb.alternatives), "analyses": "",
                "why": amb.description})
            row["analyses"] = ", ".join(filter(None, [row["analyses"], a.id]))
    return pd.DataFrame(list(seen.values()))


def build_blocks(plan: Plan, records: dict[str, dict[str, Any]], summary: dict[str, Any],
                 out: Path) -> list[Block]:
    """Compute every table, write them under ``out/tables`` and return the report's blocks."""
    tdir = out / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
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

    # ---- deviations and choices
    blocks.append(("h2", "Deviations from the paper and choices where it is ambiguous"))
    devs = list(summary.get("deviations", [])) + list(summary.get("frames", {}).get("notes", []))
    blocks.append(("ul", devs or ["none: every model ran with the specs' settings"]))
    amb = _ambiguities(plan)
    blocks.append(("table", amb, "ambiguities"))

    # ---- paper tables
    tables = paper_tables(plan, records)
    blocks.append(("h2", "Tables 2-4 as reproduced"))
    blocks.append(("p", (
        "Columns as in the paper (brms::hypothesis(), alpha = 0.05: one-sided hypotheses with "
        "90% intervals). BF is brms's evidence ratio, counted over the draws (Inf when every "
        "draw is on the hypothesis's side). Star: * for BF > 100, † for BF > 10 (the paper's "
        f"rule). BF.tail is a finite estimate beyond the draw limit, a {TAIL_LABEL}: the "
        "posterior's normal tail, Phi(z)/Phi(-z) with z = mean/SD, with its Monte Carlo 95% "
        "interval from the effective sample size. It says how strong an Inf is; it is not "
        "brms's number.")))
    for tid, df in tables.items():
        df.to_csv(tdir / f"{tid}.csv", index=False, float_format="%.10g")
        layout = paper_layout(df)
        md = [f"# {TITLES[tid]} (reproduced)", ""]
        for section, part in layout.groupby("section", sort=False):
            md += [f"## {section}", "", markdown_table(part.drop(columns=["section"]), digits=3), ""]
        atomic_write_text(tdir / f"{tid}.md", "\n".join(md))
        blocks.append(("h3", f"{TITLES[tid]}"))
        for section, part in layout.groupby("section", sort=False):
            blocks.append(("h4", section))
            blocks.append(("table", part.drop(columns=["section"]), None))
    trans = translations(tables)
    if len(trans):
        trans.to_csv(tdir / "translations.csv", index=False, float_format="%.10g")
        blocks.append(("h3", "Percentage translations, (exp(β) − 1) × 10%"))
        blocks.append(("p", "As in the Results: the change in the odds of the highest score "
                            "(1a) or in the score (1b) for a 10-point increase in an attribute's "
                            "probability; the interval columns translate the table's 90% bounds."))
        blocks.append(("table", trans, "translations"))

    # ---- published vs reproduced
    pvr = published_vs_reproduced(plan, records)
    if len(pvr):
        pvr.to_csv(tdir / "published_vs_reproduced.csv", index=False, float_format="%.10g")
        blocks.append(("h2", "Published vs reproduced"))
        blocks.append(("p", (
            f"{len(pvr)} published rows: same sign in {int(pvr['same_sign'].sum())}, same star in "
            f"{int(pvr['same_star'].sum())}; median |difference| = "
            f"{pvr['difference'].abs().median():.3f} ({pvr['diff_in_sd'].abs().median():.2f} "
            "published posterior SDs). diff_in_sd = (reproduced − published) / published "
            "Est.Error. Robustness rows compare a supplement model with the table it should "
            "resemble.")))
        blocks.extend(("p", text) for text in interval_summary(pvr, summary.get("simulated_truth")))
        blocks.append(("table", pvr, None))
    if "simulated_truth" in summary:
        rec = truth_recovery(tables, plan, records, summary["simulated_truth"])
        if len(rec):
            rec.to_csv(tdir / "truth_recovery.csv", index=False, float_format="%.10g")
            blocks.append(("h2", "Recovery of the simulated truth"))
            from scipy.stats import chi2

            stat = float((rec["z"] ** 2).sum())
            blocks.append(("p", (
                f"{int(rec['within_95'].sum())} of {len(rec)} generating values lie inside their "
                f"95% posterior interval (about {0.95 * len(rec):.1f} expected); "
                f"{int(rec['same_sign'].sum())} have the generated sign. Jointly, sum of z² = "
                f"{stat:.1f} on {len(rec)} df (p = {chi2.sf(stat, len(rec)):.3g}). Unless the "
                "data were simulated with slopes='homogeneous', the generating slopes vary by "
                "conversation type, moderator and prompt toxicity, and the single-slope model "
                "estimates a weighted average of them. lme4's estimates sit beside brms's "
                "below: a gap both engines share is in the data, not the fit.")))
            blocks.append(("table", rec, None))

    # ---- figures
    figs = draw_figures(plan, records, summary, out / "figures")
    if figs:
        blocks.append(("h2", "Figures"))
        blocks.append(("p", "Posterior means with 95% credible intervals (brms) beside the "
                            "frequentist estimates with 95% Wald intervals; Figure 2g/h are "
                            "means of the data with 95% intervals."))
        for pid in sorted(figs):
            blocks.append(("img", figs[pid], f"Figure {pid}"))

    # ---- frequentist side by side
    freq = frequentist_tables(plan, records)
    if freq:
        fdir = tdir / "frequentist"
        fdir.mkdir(exist_ok=True)
        blocks.append(("h2", "brms beside the frequentist fits"))
        blocks.append(("p", "Per model: estimates with 95% intervals per engine; diff_se_units = "
                            "(estimate − brms estimate) / brms posterior SD. Then each one-sided "
                            "hypothesis: brms's posterior probability and evidence ratio beside "
                            "the frequentist one-sided p-value and its Bayes-factor bound."))
        for model, cmp in freq.items():
            cmp.to_csv(fdir / f"{model}.csv")
            atomic_write_text(fdir / f"{model}.md", cmp.to_markdown())
            blocks.append(("h3", model))
            blocks.append(("table", cmp.wide, None))
            if len(cmp.hypotheses):
                blocks.append(("table", cmp.hypotheses, None))

    # ---- diagnostics and LOO
    diag = diagnostics_table(plan, records)
    diag.to_csv(tdir / "diagnostics.csv", index=False, float_format="%.10g")
    blocks.append(("h2", "Convergence diagnostics"))
    blocks.append(("table", diag, None))
    loo = loo_table(plan, records)
    if len(loo):
        loo.to_csv(tdir / "loo.csv", index=False, float_format="%.10g")
        blocks.append(("h2", "Supplement: ELPD with vs without the model (LLM) random effect"))
        blocks.append(("p", "elpd_diff = elpd_loo(with) − elpd_loo(without) from brms::loo(); "
                            "se_diff as loo::loo_compare computes it."))
        blocks.append(("table", loo, None))

    # ---- provenance
    blocks.append(("h2", "Provenance"))
    frames = summary.get("frames", {})
    opts = frames.get("options", {})
    blocks.append(("ul", [
        f"data folder: {summary.get('data')}; scores: {summary.get('scores')}",
        f"scorers: {', '.join(opts.get('scorers') or []) or 'unknown'}; scoring dates: "
        f"{' to '.join(map(str, opts.get('scored_at') or [])) or 'unknown'}",
        f"frame options: reasoning_nuance = {opts.get('reasoning_nuance')}, "
        f"ties = {opts.get('ties')}",
        "analysis frames (rows): " + ", ".join(f"{k}: {v}" for k, v in frames.get("frames", {}).items()),
        "versions: " + ", ".join(f"{k} {v}" for k, v in _versions(plan, records).items()),
        f"Python {summary.get('python')}",
    ]))
    files = pd.DataFrame([{"file": k, "sha256": v} for k, v in summary.get("data_files_sha256", {}).items()])
    if len(files):
        blocks.append(("table", files, None))
    blocks.append(("h3", "Settings per brms fit"))
    blocks.append(("table", _settings(plan, records), None))
    steps = pd.DataFrame(frames.get("steps", []))
    if len(steps):
        blocks.append(("h3", "Data pipeline: rows after each step"))
        blocks.append(("table", steps, None))
    return blocks


def _md(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3", "h4"):
            out += ["#" * int(kind[1]) + " " + b[1], ""]
        elif kind == "p":
            out += [b[1], ""]
        elif kind == "ul":
            out += [f"- {x}" for x in b[1]] + [""]
        elif kind == "table":
            out += [markdown_table(b[1], digits=3), ""]
        elif kind == "img":
            out += [f"![{b[2]}](figures/{Path(b[1]).name})", ""]
    return "\n".join(out)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        return f"{v:.3f}" if abs(v) < 1e5 else f"{v:.3g}"
    return html.escape(str(v))


def _html(blocks: list[Block]) -> str:
    body = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3", "h4"):
            body.append(f"<{kind}>{html.escape(b[1])}</{kind}>")
        elif kind == "p":
            text = html.escape(b[1])
            while "**" in text:
                text = text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
            body.append(f"<p>{text}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            df = b[1]
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
            rows = "".join("<tr>" + "".join(f"<td>{_fmt_cell(v)}</td>" for v in row) + "</tr>"
                           for row in df.itertuples(index=False, name=None))
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(Path(b[1]).read_bytes()).decode()
            body.append(f'<figure><img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "th{background:#f2f2f2}img{max-width:100%}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pybrms replication "
            f"report</title><style>{style}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def write_report(plan: Plan, records: dict[str, dict[str, Any]], summary: dict[str, Any],
                 out: str | Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``tables/`` and ``figures/`` under ``out``.

    Returns
    -------
    dict of str to Path
        ``md`` and ``html``.
    """
    out = Path(out)
    blocks = build_blocks(plan, records, summary, out)
    md, page = out / "report.md", out / "report.html"
    atomic_write_text(md, _md(blocks))
    atomic_write_text(page, _html(blocks))
    return {"md": md, "html": page}
