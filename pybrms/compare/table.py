"""Side-by-side comparison of engines: estimates, intervals, agreement, and evidence scales.

:func:`compare` takes a :class:`~pybrms.fitset.FitSet` (or a tidy frame from several engines)
and returns a :class:`Comparison` with

* ``table``: the tidy schema plus agreement columns against a reference engine (brms when
  present): ``diff``, ``diff_se_units``, ``sign_agrees``, ``ci_overlap``, ``overlap_fraction``,
  and for one-sided hypotheses ``hypothesis``, ``p_one_sided`` and ``bf_bound``;
* ``wide``: one row per term, each engine's estimate and interval side by side;
* ``hypotheses``: per one-sided hypothesis, brms's posterior probability and evidence ratio
  next to each frequentist engine's one-sided p-value and the ``1/(-e p ln p)`` bound on the
  Bayes factor that p-value can support, so readers see how far the scales disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engines import ENGINES, capabilities
from ..errors import SpecError
from ..fitset import FitSet
from ..results import TIDY_COLUMNS, tidy_frame
from ..spec.hypotheses import Hypothesis, parse_hypothesis
from . import agreement

#: columns :func:`compare` adds to the tidy schema in :attr:`Comparison.table`
AGREEMENT_COLUMNS: tuple[str, ...] = (
    "reference",
    "diff",
    "diff_se_units",
    "sign_agrees",
    "ci_overlap",
    "overlap_fraction",
    "hypothesis",
    "p_one_sided",
    "bf_bound",
)
_NUM = re.compile(r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$")


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    table : DataFrame
        Long form: :data:`~pybrms.results.TIDY_COLUMNS` + :data:`AGREEMENT_COLUMNS`.
    wide : DataFrame
        One row per term; ``<engine>_estimate``, ``<engine>_conf_low``,
        ``<engine>_conf_high`` per engine and ``<engine>_diff_se_units``,
        ``<engine>_sign_agrees``, ``<engine>_ci_overlap`` per non-reference engine.
    hypotheses : DataFrame
        One row per hypothesis (empty when none were given).
    reference : str
        The engine the others are compared with.
    conf_level : float
        Interval level of the table.

    """

    table: pd.DataFrame
    wide: pd.DataFrame
    hypotheses: pd.DataFrame
    reference: str
    conf_level: float

    def to_csv(self, path: str | Path | None = None) -> str:
        """Write :attr:`table` as CSV (to ``path`` if given); returns the CSV text."""
        text = self.table.to_csv(index=False, float_format="%.10g")
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_markdown(self, digits: int = 4) -> str:
        """A Markdown report: the side-by-side table, the hypotheses, and what the columns mean."""
        level = f"{100 * self.conf_level:g}%"
        out = [
            f"# Engine comparison (reference: {self.reference})",
            "",
            f"Estimates with {level} intervals (brms: posterior mean and equal-tailed credible "
            "interval; lme4/statsmodels: maximum-likelihood/REML estimate and Wald interval; "
            "statsmodels on bernoulli models: a variational Bayes approximation, not maximum "
            "likelihood, as its `method` column says). Group-level SDs and correlations are "
            "named as brms names them (`sd_g__Intercept`).",
            "",
            markdown_table(self.wide, digits=digits),
            "",
            f"`diff_se_units` = (estimate - {self.reference} estimate) / {self.reference} "
            "standard error; `sign_agrees` and `ci_overlap` compare with the reference.",
        ]
        if len(self.hypotheses):
            out += [
                "",
                "## One-sided hypotheses",
                "",
                markdown_table(self.hypotheses, digits=digits),
                "",
                "`post_prob` and `evid_ratio` are brms's posterior probability of the "
                "hypothesis and its odds; `p_one_sided` is the frequentist one-sided p-value "
                "against it (`p_test`: t with lmerTest's Satterthwaite df, or z); `bf_bound` = 1/(-e p ln p) (Sellke, Bayarri & Berger 2001) is the "
                "largest Bayes factor for the hypothesis that p-value could support (1 when "
                "p >= 1/e). An evidence ratio far above `bf_bound` means the two evidence scales "
                "disagree, not that one engine is wrong.",
            ]
        return "\n".join(out) + "\n"


def _fmt(value: Any, digits: int) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).replace("|", "\\|")


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """Render ``df`` as a GitHub Markdown table (numbers to ``digits`` significant digits)."""
    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = (
        "|"
        + "|".join(
            "---:" if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool else "---"
            for c in df.columns
        )
        + "|"
    )
    rows = [
        "| " + " | ".join(_fmt(v, digits) for v in row) + " |"
        for row in df.itertuples(index=False, name=None)
    ]
    return "\n".join([header, rule, *rows])


def simple_hypothesis(h: Hypothesis) -> tuple[str, str, float] | None:
    """``(term, direction, value)`` for ``term > c`` / ``term < c`` / ``c < term``, else None."""
    if not h.one_sided:
        return None
    left, right = h.left.strip(), h.right.strip()
    if _NUM.match(right) and len(h.terms) == 1 and left == h.terms[0]:
        return left, h.op, float(right)
    if _NUM.match(left) and len(h.terms) == 1 and right == h.terms[0]:
        return right, {"<": ">", ">": "<"}[h.op], float(left)
    return None


def _hypothesis_engine(engines: Sequence[str]) -> str | None:
    """The first engine with brms's ``hypothesis()`` (evidence ratios from draws), if any."""
    return next((e for e in engines if e in ENGINES and capabilities(e).hypotheses), None)


def _reference(engines: Sequence[str], reference: str | None) -> str:
    if reference is not None:
        if reference not in engines:
            raise SpecError(f"reference engine {reference!r} is not among {list(engines)}")
        return reference
    return _hypothesis_engine(engines) or engines[0]


def _agreement(tidy: pd.DataFrame, ref: str) -> pd.DataFrame:
    ref_rows = tidy[tidy["engine"] == ref].drop_duplicates("term").set_index("term")
    out = tidy.copy()
    r = ref_rows.reindex(out["term"])
    est, se = r["estimate"].to_numpy(float), r["std_error"].to_numpy(float)
    lo, hi = r["conf_low"].to_numpy(float), r["conf_high"].to_numpy(float)
    is_ref = (out["engine"] == ref).to_numpy()
    has_ref = np.isfinite(est)
    out["reference"] = ref
    out["diff"] = np.where(is_ref, np.nan, out["estimate"].to_numpy(float) - est)
    out["diff_se_units"] = np.where(is_ref, np.nan, agreement.diff_in_se(out["estimate"], est, se))
    keep = ~is_ref & has_ref
    sign = agreement.sign_agrees(out["estimate"], est)
    overlap = agreement.intervals_overlap(out["conf_low"], out["conf_high"], lo, hi)
    out["sign_agrees"] = pd.array(np.where(keep, sign, pd.NA), dtype="boolean")
    out["ci_overlap"] = pd.array(np.where(keep, overlap, pd.NA), dtype="boolean")
    out["overlap_fraction"] = np.where(
        keep, agreement.overlap_fraction(out["conf_low"], out["conf_high"], lo, hi), np.nan
    )
    return out


def _hypotheses(
    tidy: pd.DataFrame,
    hyps: list[Hypothesis],
    brms_table: pd.DataFrame | None,
    engines: list[str],
) -> pd.DataFrame:
    rows = []
    hyp = _hypothesis_engine(engines)
    freq = [
        e for e in engines if e != hyp and tidy.loc[tidy.engine == e, "p_value"].notna().any()
    ]
    for i, h in enumerate(hyps):
        simple = simple_hypothesis(h)
        row: dict[str, Any] = {"hypothesis": h.text}
        row["term"], row["direction"] = (simple[0], simple[1]) if simple else ("", h.op)
        label = hyp or "brms"
        if brms_table is None and hyp is None:
            pass  # no engine with hypothesis(): no such columns at all
        elif brms_table is not None and i < len(brms_table):
            b = brms_table.iloc[i]
            row[f"{label}_estimate"] = float(b["Estimate"])
            row[f"{label}_post_prob"] = float(b["Post.Prob"])
            row[f"{label}_evid_ratio"] = float(b["Evid.Ratio"])
        else:
            row[f"{label}_estimate"] = row[f"{label}_post_prob"] = np.nan
            row[f"{label}_evid_ratio"] = np.nan
        for e in freq:
            p = est = np.nan
            how = ""
            if simple is not None:
                term, direction, value = simple
                sel = tidy[(tidy.engine == e) & (tidy.term == term)]
                if len(sel):
                    s = sel.iloc[0]
                    est = float(s["estimate"])
                    p, how = agreement.one_sided_p(
                        est, s["std_error"], s["statistic"], s["p_value"], direction, value
                    )
            row[f"{e}_estimate"] = est
            row[f"{e}_p_one_sided"] = p
            row[f"{e}_bf_bound"] = float(agreement.bayes_factor_bound(p))
            row[f"{e}_p_test"] = how
        rows.append(row)
    return pd.DataFrame(rows)


def compare(
    fitset_or_tidy: Any,
    hypotheses: str | Sequence[str] | None = None,
    *,
    reference: str | None = None,
    conf_level: float = 0.95,
    alpha: float = 0.05,
    brms_hypotheses: pd.DataFrame | None = None,
) -> Comparison:
    """Compare engines term by term, and on one-sided hypotheses.

    Parameters
    ----------
    fitset_or_tidy : FitSet or DataFrame
        Fits of one model by several engines, or their tidy frame (the shared schema).
    hypotheses : str or sequence of str, optional
        brms hypotheses such as ``"x1 > 0"``. Frequentist one-sided p-values are given for
        single-term hypotheses ``term > c`` / ``term < c``; brms's numbers for any hypothesis.
    reference : str, optional
        Engine the others are compared with (default brms if present, else the first).
    conf_level : float
        Interval level, when ``fitset_or_tidy`` is a FitSet.
    alpha : float
        brms ``hypothesis()`` alpha (its one-sided intervals are ``1 - 2 alpha``).
    brms_hypotheses : DataFrame, optional
        brms's ``hypothesis()`` table for ``hypotheses`` (same order) when a tidy frame is
        given; a FitSet with a brms fit computes it.

    Returns
    -------
    Comparison

    Raises
    ------
    SpecError
        For a malformed hypothesis or an unknown reference engine.

    """
    items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses or [])
    parsed = [parse_hypothesis(h) for h in items]
    if isinstance(fitset_or_tidy, FitSet):
        tidy = fitset_or_tidy.tidy(conf_level=conf_level)
        if items and brms_hypotheses is None and _hypothesis_engine(fitset_or_tidy.engines):
            brms_hypotheses = fitset_or_tidy.hypothesis(items, alpha=alpha)
    elif isinstance(fitset_or_tidy, pd.DataFrame):
        tidy = tidy_frame(fitset_or_tidy.loc[:, [c for c in fitset_or_tidy if c in TIDY_COLUMNS]])
    else:
        raise TypeError(
            f"compare() takes a FitSet or a tidy DataFrame, got {type(fitset_or_tidy).__name__}"
        )
    if len(tidy) == 0:
        raise SpecError("nothing to compare: the tidy frame has no rows")
    engines = list(dict.fromkeys(tidy["engine"]))
    ref = _reference(engines, reference)
    levels = tidy["conf_level"].dropna().unique()
    conf = float(levels[0]) if len(levels) else conf_level
    table = _agreement(tidy, ref)
    hyp_table = _hypotheses(tidy, parsed, brms_hypotheses, engines)
    hyp = _hypothesis_engine(engines) or "brms"

    table["hypothesis"] = ""
    table["p_one_sided"] = np.nan
    table["bf_bound"] = np.nan
    for _, h in hyp_table.iterrows():
        if not h["term"]:
            continue
        for e in engines:
            mask = (table.engine == e) & (table.term == h["term"]) & (table.hypothesis == "")
            if not mask.any():
                continue
            table.loc[mask, "hypothesis"] = h["hypothesis"]
            if e == hyp and f"{hyp}_post_prob" in h:
                table.loc[mask, "post_prob"] = h[f"{hyp}_post_prob"]
                table.loc[mask, "evid_ratio"] = h[f"{hyp}_evid_ratio"]
            elif f"{e}_p_one_sided" in h:
                table.loc[mask, "p_one_sided"] = h[f"{e}_p_one_sided"]
                table.loc[mask, "bf_bound"] = h[f"{e}_bf_bound"]
    table = table.loc[:, list(TIDY_COLUMNS) + list(AGREEMENT_COLUMNS)]
    return Comparison(
        table=table,
        wide=_wide(table, engines, ref),
        hypotheses=hyp_table,
        reference=ref,
        conf_level=conf,
    )


def _wide(table: pd.DataFrame, engines: list[str], ref: str) -> pd.DataFrame:
    terms = list(dict.fromkeys(list(table.loc[table.engine == ref, "term"]) + list(table["term"])))
    wide = pd.DataFrame({"term": terms})
    for e in engines:
        sub = table[table.engine == e].drop_duplicates("term").set_index("term").reindex(terms)
        cols = ["estimate", "conf_low", "conf_high"]
        if e != ref:
            cols += ["diff_se_units", "sign_agrees", "ci_overlap"]
        for c in cols:
            wide[f"{e}_{c}"] = sub[c].to_numpy()
    return wide
