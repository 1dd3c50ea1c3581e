"""Figures 1 and 2 of the paper as posterior interval plots, from unit records (no R).

* Figure 1a/1b: Analysis 1a/1b on all conversations, the seven attributes with 95% intervals,
  brms beside the frequentist engines; Figure 1c: Analysis 3, one group per response attribute.
* Figure 2a-c / 2d-f: Analysis 1a / 1b per conversation type (unguided, value guided,
  controversy guided); Figure 2g/2h: the mean probability of the bridging attributes / toxicity
  per conversation type, from the data.

Every panel is a :func:`pybrms.plots.forest.forest_plot` of rows in the tidy schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ....plots.forest import forest_plot
from ..frames import HUMAN_PREDICTORS, PREDICTORS
from .plan import Plan

ORDER = ["REASONING_NUANCE", "RESPECT", "CURIOSITY", "COMPASSION", "PERSONAL_STORY", "AFFINITY",
         "TOXICITY"]


def _tidy(plan: Plan, records: dict[str, dict[str, Any]], model: str) -> pd.DataFrame | None:
    """Every engine's tidy rows of one model (brms first), or None if it was not run."""
    frames = []
    for u in plan.units:
        if any(m.name == model for m in u.aliases) and u.name in records:
            frames.append(pd.DataFrame(records[u.name]["tidy"]))
    return pd.concat(frames, ignore_index=True) if frames else None


def _panel(tidy: pd.DataFrame, terms: list[str], path: Path, title: str, **kw: Any) -> Path | None:
    import matplotlib.pyplot as plt

    terms = [t for t in terms if t in set(tidy["term"])]
    if not terms:
        return None
    fig = forest_plot(tidy, path, terms=terms, title=title, **kw)
    plt.close(fig)
    return path


def draw_figures(plan: Plan, records: dict[str, dict[str, Any]], summary: dict[str, Any],
                 directory: str | Path) -> dict[str, Path]:
    """Draw every panel whose models were run; returns panel id (``1a``...``2h``) -> PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    directory = Path(directory)
    out: dict[str, Path] = {}
    panels = [
        ("1a", "1a_all", "Figure 1a: highest score (Analysis 1a, all conversations)"),
        ("1b", "1b_all", "Figure 1b: log score (Analysis 1b, all conversations)"),
        ("2a", "1a_unguided", "Figure 2a: highest score, unguided"),
        ("2b", "1a_values", "Figure 2b: highest score, value guided"),
        ("2c", "1a_controversy", "Figure 2c: highest score, controversy guided"),
        ("2d", "1b_unguided", "Figure 2d: log score, unguided"),
        ("2e", "1b_values", "Figure 2e: log score, value guided"),
        ("2f", "1b_controversy", "Figure 2f: log score, controversy guided"),
    ]
    for pid, model, title in panels:
        tidy = _tidy(plan, records, model)
        if tidy is not None:
            path = _panel(tidy, ORDER, directory / f"figure{pid}.png", title)
            if path is not None:
                out[pid] = path
    dvs = [m for m in plan.models if m.analysis == "3"]
    rows = []
    for m in dvs:
        unit = plan.unit_of(m.name, plan.reference)
        if unit is not None and unit.name in records:
            t = pd.DataFrame(records[unit.name]["tidy"])
            rows.append(t.assign(engine=m.response))
    if rows:
        path = _panel(pd.concat(rows, ignore_index=True), list(HUMAN_PREDICTORS),
                      directory / "figure1c.png",
                      "Figure 1c: response attributes on prompt attributes (Analysis 3, brms)",
                      legend_title="Response attribute (DV)", dodge=0.8)
        if path is not None:
            out["1c"] = path
    attrs = pd.DataFrame(summary.get("attribute_summary", []))
    if len(attrs):
        tidy = pd.DataFrame({"term": attrs["attribute"], "estimate": attrs["mean"],
                             "std_error": float("nan"), "conf_low": attrs["conf_low"],
                             "conf_high": attrs["conf_high"], "conf_level": 0.95,
                             "engine": attrs["conversation_type"], "model": "data"})
        bridging = [p for p in ORDER if p != "TOXICITY" and p in PREDICTORS]
        for pid, terms, title in (("2g", bridging, "Figure 2g: bridging attributes by conversation type"),
                                  ("2h", ["TOXICITY"], "Figure 2h: toxicity by conversation type")):
            path = _panel(tidy, terms, directory / f"figure{pid}.png", title,
                          legend_title="Conversation type",
                          xlabel="Mean probability of the attribute (95% interval)")
            if path is not None:
                out[pid] = path
    return out
