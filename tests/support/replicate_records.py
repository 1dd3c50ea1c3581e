"""Records of a replication run without fitting: the paper's published numbers as fit records.

Shared by the report's tests (``tests/fast/test_replicate_report.py``) and the browser check of
``report.html`` (``tests/fast/test_html_in_browser.py``): :func:`published_records` gives a
record per unit of a plan whose numbers are the published ones (brms) or close to them (lme4),
:func:`run_summary` a run summary as ``pybrms replicate`` writes it.
"""

from __future__ import annotations

from typing import Any

from pybrms.papers.kyrychenko2025.published import load_published
from pybrms.papers.kyrychenko2025.replicate.spec import CONVO_TYPE_LABELS


def published_records(plan: Any) -> dict[str, dict[str, Any]]:
    """A record per unit whose numbers are the published ones (brms) or close to them (lme4)."""
    records = {}
    for unit in plan.units:
        m = unit.model
        rows = []
        tidy = []
        ref = m.published or m.compare_with
        pub = load_published(ref.table) if ref else None
        for h in m.hypotheses:
            hit = pub[(pub["analysis"] == ref.analysis) & (pub["term"] == h.left)
                      & (pub["convo_type"] == CONVO_TYPE_LABELS[m.convo_types[0]])].iloc[0]
            rows.append({"text": h.text, "Hypothesis": f"({h.left}) {h.op} 0",
                         "Estimate": hit["estimate"], "Est.Error": hit["est_error"],
                         "CI.Lower": hit["ci_lower"], "CI.Upper": hit["ci_upper"],
                         "Evid.Ratio": hit["bf"], "Post.Prob": hit["post_prob"], "Star": "*",
                         "term": h.left, "direction": h.op, "value": 0.0,
                         "tail": {"log10_er": 5.0, "log10_er_low": 4.0, "log10_er_high": 6.0,
                                  "log10_er_kernel": 7.0, "n_draws": 4000}})
            shift = 0.0 if unit.engine == "brms" else 0.01
            tidy.append({"term": h.left, "estimate": hit["estimate"] + shift,
                         "std_error": hit["est_error"], "conf_low": hit["estimate"] - 0.2,
                         "conf_high": hit["estimate"] + 0.2, "conf_level": 0.95,
                         "statistic": 3.0, "p_value": 0.01,
                         "engine": unit.engine, "model": m.formula})
        rec = {"engine": unit.engine, "model": m.name, "n_rows": 100, "tidy": tidy,
               "seconds": 1.0, "warnings": [], "data_hash": "ab" * 32,
               "provenance": {"versions": {"R": "4.2.2", "brms": "2.18.0"}}}
        if unit.engine == "brms":
            rec.update(hypotheses=rows, stan_program="c0ffee" * 10, compiled=True,
                       diagnostics={"rhat_max": 1.001, "ess_bulk_min": 900.0,
                                    "ess_tail_min": 800.0, "divergences": 0,
                                    "treedepth_hits": 0, "high_rhat": [], "low_ess": []})
        else:
            rec["hypotheses"] = [{"text": r["text"], "term": r["term"],
                                  "direction": r["direction"], "value": 0.0,
                                  "p_one_sided": 0.005, "reference": "z"} for r in rows]
        records[unit.name] = rec
    return records


def run_summary(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A run summary (``summary.json`` of ``pybrms replicate``) for ``records``, all fitted."""
    return {"fitted": list(records), "resumed": [], "stan_programs_distinct": 2,
            "stan_programs_compiled": 2, "seconds": 12.0, "deviations": ["--quick: test"],
            "frames": {"options": {"reasoning_nuance": "product", "ties": "all",
                                   "scorers": ["perspective"],
                                   "scored_at": ["2024-01-01", "2024-02-01"]},
                       "frames": {"1a": 100}, "notes": [], "steps": []},
            "attribute_summary": [{"conversation_type": "unguided", "attribute": "TOXICITY",
                                   "mean": 0.1, "conf_low": 0.09, "conf_high": 0.11, "n": 9}],
            "data_files_sha256": {"survey.jsonl": "0" * 64}, "python": "3.11"}
