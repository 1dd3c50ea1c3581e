"""Render the benchmark records in ``benchmarks/results/`` as Markdown.

The documentation's Benchmarks page is written by this module at build time (``docs/hooks.py``
calls :func:`render_page`), so every number on it is read from a record: nothing is copied by
hand. Run it directly to see the page::

    python benchmarks/render.py [RESULTS_DIR] > benchmarks.md

A **record** is

* a ``*.json`` file anywhere under the results folder (its id is its path without ``.json``,
  e.g. ``recovery_coverage_seeds1-60``), or
* a folder holding ``record_*.json`` files written by ``benchmarks/fast_engine.py`` (one record,
  whose id is the folder's path, e.g. ``fast_engine_scale1``).

Records written by the benchmark scripts say what they measured but not always the command,
the date or the machine; ``results/context.json`` supplies those, keyed by record id (fields
``title``, ``command``, ``date``, ``machine``, ``source``, ``notes``). A record may carry the
same fields itself, which then take precedence. Records made from numbers that were only ever
printed in the README use the generic layout::

    {"benchmark": "...", "title": "...", "source": "README before ..., measured in session N",
     "command": "...", "date": "...", "machine": "...", "settings": {...},
     "tables": [{"title": "...", "columns": [...], "rows": [[...], ...], "notes": "..."}],
     "notes": ["..."]}

whose table cells are printed exactly as stored. Records of the known script outputs (coverage,
full-scale recovery, simulator calibration, fast engine) get tables of their own; anything else
falls back to a table of its scalar fields and one table per list of objects.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
CONTEXT_FILE = "context.json"


@dataclass
class Record:
    """One benchmark record: its id, where it lives, its data and what ran it."""

    id: str
    path: Path
    data: Any
    context: dict = field(default_factory=dict)

    def meta(self, key: str, default: Any = None) -> Any:
        """A context field (``command``, ``date``...): the record's own value first."""
        if isinstance(self.data, dict) and key in self.data:
            return self.data[key]
        return self.context.get(key, default)

    @property
    def title(self) -> str:
        return self.meta("title") or self.id

    @property
    def anchor(self) -> str:
        return "bench-" + "".join(c if c.isalnum() else "-" for c in self.id.lower())


# --------------------------------------------------------------------------------------------
# loading


def _context(results: Path) -> dict:
    path = results / CONTEXT_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def load_records(results: Path = RESULTS) -> list[Record]:
    """Every record under ``results``, sorted by id."""
    results = Path(results)
    context = _context(results)
    records: list[Record] = []
    folders = {p.parent for p in results.rglob("record_*.json")}
    for folder in sorted(folders):
        rid = folder.relative_to(results).as_posix()
        runs = [json.loads(p.read_text()) for p in sorted(folder.glob("record_*.json"))]
        records.append(Record(rid, folder, {"kind": "fast_engine", "runs": runs},
                              context.get(rid, {})))
    for path in sorted(results.rglob("*.json")):
        if path.name == CONTEXT_FILE or path.parent in folders:
            continue
        rid = path.relative_to(results).with_suffix("").as_posix()
        records.append(Record(rid, path, json.loads(path.read_text()), context.get(rid, {})))
    return sorted(records, key=lambda r: r.id)


def grouped(records: list[Record], results: Path = RESULTS) -> list[tuple[str, list[Record]]]:
    """The records in the sections ``context.json``'s ``_groups`` gives; the rest last."""
    by_id = {r.id: r for r in records}
    out, seen = [], set()
    for title, ids in _context(Path(results)).get("_groups", []):
        recs = [by_id[i] for i in ids if i in by_id]
        seen.update(r.id for r in recs)
        if recs:
            out.append((title, recs))
    rest = [r for r in records if r.id not in seen]
    if rest:
        out.append(("Other records", rest))
    return out


# --------------------------------------------------------------------------------------------
# formatting


def fmt(x: Any, digits: int = 4) -> str:
    """A cell: integers as they are, floats to ``digits`` significant digits, text escaped."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if x != x:
            return "NaN"
        if x in (float("inf"), float("-inf")):
            return "Inf" if x > 0 else "-Inf"
        s = f"{x:.{digits}g}"
        if "e" in s:
            mant, exp = s.split("e")
            s = f"{mant}e{int(exp)}"
        return s
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in x)
    if isinstance(x, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in x.items())
    return str(x).replace("|", "\\|").replace("\n", " ")


def exact(x: Any) -> str:
    """A cell printed exactly as stored (records transcribed from the README)."""
    if isinstance(x, float):
        return repr(x)
    return fmt(x)


def table(columns: list[str], rows: list[list[Any]], cell=fmt) -> str:
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def seeds_text(seeds: list[int]) -> str:
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


# --------------------------------------------------------------------------------------------
# record kinds


def _generic_tables(d: dict) -> list[str]:
    out = []
    for t in d.get("tables", []):
        part = []
        if t.get("title"):
            part.append(f"**{t['title']}**")
        part.append(table(t["columns"], t["rows"], cell=exact))
        if t.get("notes"):
            part.append(t["notes"])
        out.append("\n\n".join(part))
    return out


def _coverage(d: dict) -> list[str]:
    summary = table(
        ["engine", "seeds", "intervals", "inside 95%", "coverage", "binomial p",
         "sum z²", "p (joint)", "largest abs(mean z) / SE", "run time s"],
        [[d["engine"], seeds_text(d["seeds"]), d["intervals"], d["inside"],
          f"{100 * d['coverage']:.1f}%", d["p_misses"], d["sum_z2"], d["p_joint"],
          d["max_abs_mean_z_over_se"], d.get("seconds")]])
    out = [summary]
    if d.get("median_fit_seconds") is not None:
        out.append(f"Median time per dataset: {fmt(d['median_fit_seconds'], 3)} s.")
    if d.get("sampling"):
        s = d["sampling"]
        out.append(table(["chains", "warm-up", "draws", "divergences", "tree-depth hits",
                          "largest R-hat", "smallest bulk ESS"],
                         [[s.get("chains"), s.get("warmup"), s.get("draws"),
                           s.get("divergences"), s.get("treedepth_hits"), s.get("rhat_max"),
                           s.get("ess_bulk_min")]]))
    out.append(table(["term", "generating value", "mean estimate", "mean z", "SD of z",
                      "inside / datasets"],
                     [[t["term"], t["truth"], t["mean_estimate"], t["mean_z"], t["sd_z"],
                       f"{t['inside']} / {t['n']}"] for t in d["per_term"]]))
    return out


def _full_scale(d: dict, path: Path) -> list[str]:
    out = [table(["rows checked", "inside 95%", "P(this many outside)", "sum z²", "p (joint)",
                  "same sign", "same star as published", "run time s"],
                 [[d["rows_checked"], d["within_95"], d.get("p_misses"), d["sum_z2"],
                   d.get("p_joint"), d["same_sign"],
                   f"{d['same_star_as_published']} of {d['rows_with_star_checked']}",
                   d.get("seconds")]])]
    if d.get("misses"):
        out.append("**Generating values outside their 95% interval**\n\n" + table(
            ["model", "term", "generating value", "95% interval"],
            [[m["model"], m["term"], m["truth"],
              f"[{fmt(m['conf_low'])}, {fmt(m['conf_high'])}]"] for m in d["misses"]]))
    if d.get("star_differences"):
        out.append("**Stars that differ from the published ones**\n\n" + table(
            ["model", "term", "published", "reproduced", "published BF", "reproduced BF"],
            [[s["model"], s["term"], s["published_star"] or "none",
              s["reproduced_star"] or "none", s["published_bf"], s["reproduced_bf"]]
             for s in d["star_differences"]]))
    if d.get("lme4_beside_brms"):
        out.append("**brms and lme4 on the same data**\n\n" + table(
            ["model", "term", "generating value", "brms", "lme4", "lme4 SE"],
            [[r["model"], r["term"], r["truth"], r["brms"], r["lme4"], r["lme4_se"]]
             for r in d["lme4_beside_brms"]]))
    diag = path.with_name(path.stem + "_diagnostics.csv")
    if diag.exists():
        with diag.open() as fh:
            rows = list(csv.reader(fh))
        out.append(f"**Diagnostics and time of every fit** (`{diag.name}`)\n\n"
                   + table(rows[0], [[_num(c) for c in r] for r in rows[1:]]))
    elif d.get("fit_seconds"):
        out.append(table(["fit", "seconds"], [[k, v] for k, v in d["fit_seconds"].items()]))
    return out


def _num(c: str) -> Any:
    try:
        return float(c) if any(ch in c for ch in ".eE") else int(c)
    except ValueError:
        return c


def _calibration(d: dict) -> list[str]:
    settings = table(["engine", "seeds", "scale", "slopes", "REASONING_NUANCE", "tables",
                      "run time s"],
                     [[d["engine"], seeds_text(d["seeds"]), d["scale"], d["slopes"],
                       d.get("reasoning_nuance"), ", ".join(d["tables"]), d.get("seconds")]])
    rows = [[s["table"], s["analysis"], s["key"], s["rows"],
             f"{fmt(s['se_ratio_min'], 3)}-{fmt(s['se_ratio_max'], 3)}",
             s["se_ratio_median"], s["se_within_25pct"], s["same_sign"], s["same_star"]]
            for s in d["summary"]]
    out = [settings, table(["table", "analysis", "conversations / DV", "rows",
                            "reproduced SE / published Est.Error", "median ratio",
                            "SE within ±25%", "same sign", "same star"], rows)]
    out.append(f"The record also holds every row's published and reproduced estimate and SE "
               f"({len(d.get('rows', []))} rows).")
    return out


@functools.cache
def _fast_engine_script():
    """``benchmarks/fast_engine.py``, which wrote the records and defines their summaries."""
    spec = importlib.util.spec_from_file_location(
        "_pybrms_bench_fast_engine", Path(__file__).with_name("fast_engine.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ess_rates(run: dict) -> dict[str, float]:
    """Slope and group-SD bulk ESS per second, as ``benchmarks/fast_engine.py`` reports them."""
    return _fast_engine_script()._ess_rates(run)


def _fast_engine(d: dict, path: Path) -> list[str]:
    runs = d["runs"]
    rows = []
    for r in runs:
        q = _ess_rates(r)
        rows.append([r["analysis"], r["engine"], r["rows"], r["conversations"], r["users"],
                     r["wall_s"], r["compile_s"], r["sample_s"],
                     f"{fmt(q['slope_min'])} / {fmt(q['slope_median'])}",
                     f"{fmt(q['sd_min'])} / {fmt(q['sd_median'])}",
                     r["peak_mb"], r["leapfrog_per_draw"]])
    out = [table(["model", "engine", "rows", "conversations", "users", "wall s", "compile s",
                  "sampling s", "slope ESS/s min / median", "group-SD ESS/s min / median",
                  "peak MB", "leapfrog steps / draw"], rows)]
    by = {(r["analysis"], r["engine"]): r for r in runs}
    ratios = []
    for analysis in sorted({r["analysis"] for r in runs}):
        f, b = by.get((analysis, "fast")), by.get((analysis, "brms"))
        if not (f and b):
            continue
        qf, qb = _ess_rates(f), _ess_rates(b)
        ratios.append([analysis, f"{qf['slope_min'] / qb['slope_min']:.1f}x",
                       f"{qf['slope_median'] / qb['slope_median']:.1f}x",
                       f"{qf['sd_min'] / qb['sd_min']:.1f}x",
                       f"{b['wall_s'] / f['wall_s']:.1f}x"])
    if ratios:
        out.append("**Fast / brms**\n\n" + table(
            ["model", "slope ESS/s (min)", "slope ESS/s (median)", "group-SD ESS/s (min)",
             "wall time"], ratios))
    params = list(dict.fromkeys(k for r in runs for k in r["ess_bulk"]))
    cols = [f"{r['analysis']} {r['engine']}" for r in runs]
    out.append("**Bulk ESS of each parameter**\n\n" + table(
        ["parameter", *cols], [[p, *[r["ess_bulk"].get(p) for r in runs]] for p in params]))
    for v in sorted(path.glob("verify_*.csv")):
        with v.open() as fh:
            vr = list(csv.DictReader(fh))
        out.append(f"**`pybrms.verify`, fast (a) vs brms (b), model {v.stem[7:]}** "
                   f"({sum(r['ok'] == 'True' for r in vr)} of {len(vr)} parameters agree)\n\n"
                   + table(["parameter", "mean fast", "mean brms", "z", "SD ratio",
                            "SD tolerance", "interval overlap", "agree"],
                           [[r["parameter"], float(r["mean_a"]), float(r["mean_b"]),
                             float(r["z"]), float(r["sd_ratio"]),
                             float(r["sd_ratio_tolerance"]), float(r["overlap"]),
                             r["ok"] == "True"] for r in vr]))
    warns = [f"{r['analysis']} {r['engine']}: {w}" for r in runs for w in r.get("warnings", [])]
    if warns:
        out.append("Warnings of these short chains:\n\n" + "\n".join(f"* {w}" for w in warns))
    return out


def _study(d: dict) -> list[str]:
    """A simulation-study record (pybrms simstudy): its setting, the performance measures with
    their Monte Carlo SEs per condition, method and estimand, convergence and cost.
    """
    out = _fallback({k: v for k, v in d.items() if k not in ("performance", "headline")})
    rows = []
    for condition, methods in d["performance"].items():
        for method, terms in methods.items():
            for term, subsets in terms.items():
                for subset, measures in subsets.items():
                    cells = [f"{fmt(m['value'], 3)} ({fmt(m['mcse'], 2)})" if m.get("value")
                             is not None else "" for m in
                             (measures.get(k, {}) for k in ("bias", "empse", "modelse",
                                                            "cover", "power"))]
                    n = next((m.get("n") for m in measures.values() if m.get("n")), "")
                    rows.append([condition, method, term, subset, n, *cells])
    out.append("**Performance (value and Monte Carlo SE)**\n\n" + table(
        ["condition", "method", "term", "replicates", "n", "bias", "empirical SE", "model SE",
         "coverage", "power"], rows, cell=str))
    return out


def _fallback(d: Any) -> list[str]:
    if not isinstance(d, dict):
        return [f"```\n{json.dumps(d, indent=1)[:2000]}\n```"]
    scalars = [[k, v] for k, v in d.items() if not isinstance(v, (list, dict))]
    out = [table(["field", "value"], scalars)] if scalars else []
    for k, v in d.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            cols = list(dict.fromkeys(c for x in v for c in x))
            out.append(f"**{k}**\n\n" + table(cols, [[x.get(c) for c in cols] for x in v]))
        elif isinstance(v, dict) and v and all(not isinstance(x, (list, dict))
                                               for x in v.values()):
            out.append(f"**{k}**\n\n" + table(["key", "value"], [[a, b] for a, b in v.items()]))
    return out


def render_body(rec: Record, parts: list[int] | None = None) -> str:
    """The record's numbers as Markdown tables (no heading, no context); ``parts`` picks some."""
    d = rec.data
    if isinstance(d, dict) and d.get("kind") == "fast_engine":
        blocks = _fast_engine(d, rec.path)
    elif isinstance(d, dict) and d.get("tables") and all(isinstance(t, dict)
                                                         for t in d["tables"]):
        blocks = _generic_tables(d)
    elif isinstance(d, dict) and "per_term" in d and "intervals" in d and "seeds" in d:
        blocks = _coverage(d)
    elif isinstance(d, dict) and "rows_checked" in d:
        blocks = _full_scale(d, rec.path)
    elif isinstance(d, dict) and isinstance(d.get("performance"), dict) \
            and str(d.get("study", "")).endswith(".toml"):
        blocks = _study(d)
    elif isinstance(d, dict) and d.get("benchmark") == "simulator_calibration":
        blocks = _calibration(d)
    else:
        blocks = _fallback(d)
    chosen = blocks if parts is None else [blocks[i] for i in parts if i < len(blocks)]
    return "\n\n".join(chosen)


def render_context(rec: Record) -> str:
    """What ran, where, when, and where the record came from, as a definition list."""
    items = []
    for key, label in (("command", "Command"), ("date", "Date"), ("machine", "Machine"),
                       ("settings", "Settings"), ("source", "Source")):
        v = rec.meta(key)
        if not v:
            continue
        if key == "command":
            cmds = v if isinstance(v, list) else [v]
            v = "<br>".join(f"`{c}`" for c in cmds)
        elif isinstance(v, dict):
            v = "; ".join(f"{k}: {fmt(x)}" for k, x in v.items())
        items.append(f"* **{label}:** {v}")
    where = f"{rec.id}/" if rec.path.is_dir() else rec.path.name if "/" not in rec.id else \
        f"{rec.id}.json"
    items.append(f"* **Record:** `benchmarks/results/{where}`")
    notes = rec.meta("notes") or []
    text = "\n".join(items)
    if notes:
        text += "\n\n" + "\n\n".join(notes if isinstance(notes, list) else [notes])
    return text


def render_record(rec: Record, level: int = 2) -> str:
    """A record's whole section: heading, context, tables."""
    return (f"{'#' * level} {rec.title} {{ #{rec.anchor} }}\n\n"
            f"{render_context(rec)}\n\n{render_body(rec)}\n")


def render_page(results: Path = RESULTS) -> str:
    """The Benchmarks page: one section per record, grouped by topic."""
    groups = grouped(load_records(results), results)
    intro = (
        "# Benchmarks\n\n"
        "Every number on this page is read from a record in `benchmarks/results/` when the "
        "site is built (`benchmarks/render.py`); the guides link here instead of copying "
        "numbers. Unless a record says otherwise, the machine is the project's 2-core "
        "development and CI machine (Debian 12, 2 cores, 24 GiB), often shared with other "
        "work: timings are that machine's, and a record says when it was busy.\n\n"
        "Records under `benchmarks/results/readme/` were transcribed from the README's "
        "measured tables and sentences when the documentation site replaced them (their "
        "`source` field gives the README lines); the session numbers are those of the "
        "[changelog](changelog.md).\n\n"
    )
    body = "\n".join(f"## {title}\n\n" + "\n".join(render_record(r, 3) for r in recs)
                     for title, recs in groups)
    return intro + body


def render_embed(rec: Record, page_link: str, parts: list[int] | None = None) -> str:
    """A record's tables (all, or the blocks ``parts`` numbers) for a guide, with a link."""
    return (f"{render_body(rec, parts)}\n\n"
            f"<small>Measured: [{rec.title}]({page_link}#{rec.anchor}).</small>\n")


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_page(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS))
