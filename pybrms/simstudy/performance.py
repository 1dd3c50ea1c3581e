"""Performance measures of a simulation study with Monte Carlo standard errors.

The measures, their names and their Monte Carlo standard errors (MCSEs) are rsimsum's
(Gasparini 2018; function ``.performance`` in ``R/performance.R`` of
https://github.com/ellessenne/rsimsum, read at commit 6041ba7), which implements Table 6 of
Morris, White & Crowther (2019), "Using simulation studies to evaluate statistical methods",
Statistics in Medicine 38:2074-2102, doi:10.1002/sim.8086. Every formula below cites both.

Differences from rsimsum, all deliberate and documented where they occur:

- rsimsum sets an estimate to missing when its SE is missing (``.na_pair``) so every measure
  shares one ``nsim``; here each measure uses the rows that have what it needs, and ``n``
  says how many (identical to rsimsum when no SE or interval limit is missing).
- rsimsum's power is the Wald rule ``|estimate| >= z * se`` (null 0); here power is the
  rejection rate of the fit's own test: ``p_value < alpha``, or the interval excluding
  ``null`` (for a Wald p-value against 0 the two agree with rsimsum's rule).
- ``rmse`` is not an rsimsum measure; it is ``sqrt(mse)`` with a delta-method MCSE.
- Coverage uses the intervals the fits reported (rsimsum's ``ci.limits`` columns), not
  ``estimate +- z * se``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pybrms.errors import SpecError

#: the measures :func:`performance` reports, in output order (rsimsum's names, plus ``rmse``)
MEASURES: tuple[str, ...] = (
    "bias", "rbias", "empse", "mse", "rmse", "modelse", "relerror", "cover", "becover", "power",
)
#: replicate subsets every measure is computed over
SUBSETS: tuple[str, ...] = ("all", "converged")
#: columns an estimates frame must have (besides the condition columns ``by``)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "rep", "method", "term", "estimate", "std_error", "conf_low", "conf_high", "truth",
    "converged",
)
#: the columns :func:`performance` returns after the condition columns
RESULT_COLUMNS: tuple[str, ...] = (
    "method", "term", "subset", "measure", "value", "mcse", "n", "rule", "target",
)
#: power rule labels written in the ``rule`` column
RULE_P_VALUE = "p_value<alpha"
RULE_INTERVAL = "interval_excludes_null"

_RESERVED = frozenset(REQUIRED_COLUMNS) | {
    "error", "p_value", "post_prob", "subset", "measure", "value", "mcse", "n", "rule", "target",
}


# ----- validation ---------------------------------------------------------------------------
def _check_frame(estimates: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """Validate an estimates frame; returns ``by`` as a list."""
    if not isinstance(estimates, pd.DataFrame):
        raise SpecError(f"estimates must be a pandas DataFrame, not {type(estimates).__name__}")
    by = [by] if isinstance(by, str) else list(by or [])
    clash = [c for c in by if c in _RESERVED]
    if clash:
        raise SpecError(
            f"condition columns may not use the reserved name(s) {clash}: they are input or "
            "result columns (rename e.g. a sample-size condition 'n' to 'n_obs')"
        )
    missing = [c for c in (*by, *REQUIRED_COLUMNS) if c not in estimates.columns]
    if missing:
        raise SpecError(f"the estimates frame lacks the column(s) {missing}")
    if estimates.empty:
        raise SpecError("the estimates frame has no rows")
    keys = [*by, "method", "term", "rep"]
    dup = estimates.duplicated(subset=keys, keep=False)
    if dup.any():
        first = estimates.loc[dup, keys].iloc[0].to_dict()
        raise SpecError(
            f"{int(dup.sum())} rows share a condition x method x term x rep, e.g. {first}; "
            "each replicate must give one estimate per term and method"
        )
    return by


def _failed(frame: pd.DataFrame) -> np.ndarray:
    """True where the fit failed: a non-empty ``error`` (no ``error`` column: none failed)."""
    if "error" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    err = frame["error"]
    return (err.notna() & (err.astype(str).str.strip() != "")).to_numpy()


def _flag(values: pd.Series) -> np.ndarray:
    """A bool/object column as a bool array, missing (None, NaN, NA) as False."""
    present = values.notna().to_numpy()
    out = np.zeros(len(values), dtype=bool)
    out[present] = values[present].astype(bool).to_numpy()
    return out


def _converged(frame: pd.DataFrame) -> np.ndarray:
    """The ``converged`` flag as bool; missing counts as not converged."""
    return _flag(frame["converged"])


def _usable(frame: pd.DataFrame) -> np.ndarray:
    """Rows that enter the measures: the fit did not fail and gave a (non-NaN) estimate."""
    return ~_failed(frame) & frame["estimate"].notna().to_numpy()


def subset_mask(estimates: pd.DataFrame, subset: str = "all") -> np.ndarray:
    """Rows of an estimates frame that enter the measures of one replicate subset.

    Parameters
    ----------
    estimates : DataFrame
        With ``estimate`` and ``converged`` columns, optionally ``error``.
    subset : {"all", "converged"}
        ``"all"``: the fit did not fail (no ``error``) and gave a non-NaN estimate;
        ``"converged"``: those with ``converged`` True as well.

    Returns
    -------
    numpy.ndarray
        A boolean mask aligned with the rows.

    Raises
    ------
    SpecError
        For an unknown subset or missing columns.

    """
    if subset not in SUBSETS:
        raise SpecError(f"subset must be one of {SUBSETS}, not {subset!r}")
    missing = [c for c in ("estimate", "converged") if c not in estimates.columns]
    if missing:
        raise SpecError(f"the estimates frame lacks the column(s) {missing}")
    mask = _usable(estimates)
    return mask & _converged(estimates) if subset == "converged" else mask


# ----- the measures: each takes plain arrays and returns (value, mcse) -----------------------
_NAN2 = (math.nan, math.nan)


def _bias(est: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Bias = mean(est - truth) and its MCSE.

    rsimsum ``.performance``: ``bias_mcse = sqrt(sum((est - mean(est))^2) / (n (n - 1)))``;
    Morris et al. (2019) Table 6 gives the same with theta fixed. With a truth that varies
    between replicates rsimsum (and so this function) still uses the spread of the estimates,
    not of ``est - truth``.
    """
    n = est.size
    if n == 0:
        return _NAN2
    value = float(np.mean(est - truth))
    if n < 2:
        return value, math.nan
    return value, math.sqrt(float(np.sum((est - est.mean()) ** 2)) / (n * (n - 1)))


def _rbias(est: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Relative bias = mean((est - truth) / truth) and its MCSE; NaN when any truth is 0.

    rsimsum ``.performance``: ``rbias_mcse = sd((est - truth) / truth) / sqrt(n)``, the
    standard error of a mean (``sd`` with denominator n - 1). Relative bias is not in
    Morris et al.'s Table 6. A truth of 0 makes the ratio undefined (rsimsum would return
    +-Inf or NaN), so value and MCSE are NaN then.
    """
    n = est.size
    if n == 0 or np.any(truth == 0):
        return _NAN2
    ratio = (est - truth) / truth
    value = float(np.mean(ratio))
    if n < 2:
        return value, math.nan
    return value, float(np.std(ratio, ddof=1)) / math.sqrt(n)


def _empse(est: np.ndarray) -> tuple[float, float]:
    """Empirical SE = sd(est) with denominator n - 1; MCSE = empse / sqrt(2 (n - 1)).

    rsimsum ``.performance`` (``empse``, ``empse_mcse``); Morris et al. (2019) Table 6.
    """
    n = est.size
    if n < 2:
        return _NAN2
    value = float(np.std(est, ddof=1))
    return value, value / math.sqrt(2 * (n - 1))


def _mse(est: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """MSE = mean((est - truth)^2); MCSE = sqrt(sum(((est - truth)^2 - mse)^2) / (n (n - 1))).

    rsimsum ``.performance`` (``mse``, ``mse_mcse``); Morris et al. (2019) Table 6.
    """
    n = est.size
    if n == 0:
        return _NAN2
    sq = (est - truth) ** 2
    value = float(np.mean(sq))
    if n < 2:
        return value, math.nan
    return value, math.sqrt(float(np.sum((sq - value) ** 2)) / (n * (n - 1)))


def _rmse(est: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """RMSE = sqrt(mse); MCSE by the delta method, mcse(mse) / (2 rmse).

    Not an rsimsum measure: d sqrt(m) / dm = 1 / (2 sqrt(m)), so
    ``mcse(rmse) = mcse(mse) / (2 rmse)`` (NaN when rmse is 0).
    """
    mse, mse_mcse = _mse(est, truth)
    if math.isnan(mse):
        return _NAN2
    value = math.sqrt(mse)
    mcse = mse_mcse / (2 * value) if value > 0 else math.nan
    return value, mcse


def _modelse(se: np.ndarray) -> tuple[float, float]:
    """Model SE = sqrt(mean(se^2)); MCSE = sqrt(var(se^2) / (4 n modelse^2)).

    rsimsum ``.performance`` (``modelse``, ``modelse_mcse``, ``var`` with denominator
    n - 1); Morris et al. (2019) Table 6 (the root mean squared model SE).
    """
    n = se.size
    if n == 0:
        return _NAN2
    value = math.sqrt(float(np.mean(se**2)))
    if n < 2 or value == 0:
        return value, math.nan
    return value, math.sqrt(float(np.var(se**2, ddof=1)) / (4 * n * value**2))


def _relerror(est: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """Relative % error in model SE = 100 (modelse / empse - 1) and its MCSE.

    rsimsum ``.performance`` and Morris et al. (2019) Table 6:
    ``100 (modelse / empse) sqrt(var(se^2) / (4 n modelse^4) + 1 / (2 (n - 1)))``.
    ``est`` and ``se`` are the same rows (those with both), as rsimsum pairs them.
    """
    n = est.size
    empse, _ = _empse(est)
    modelse, _ = _modelse(se)
    if n < 2 or math.isnan(empse) or empse == 0 or modelse == 0:
        return _NAN2
    ratio = modelse / empse
    var_se2 = float(np.var(se**2, ddof=1))
    mcse = 100 * ratio * math.sqrt(var_se2 / (4 * n * modelse**4) + 1 / (2 * (n - 1)))
    return 100 * (ratio - 1), mcse


def _proportion(hits: np.ndarray) -> tuple[float, float]:
    """A proportion p = mean(hits) and its binomial MCSE sqrt(p (1 - p) / n).

    rsimsum ``.performance`` (``cover_mcse``, ``becover_mcse``, ``power_mcse``); Morris et al.
    (2019) Table 6.
    """
    n = hits.size
    if n == 0:
        return _NAN2
    p = float(np.mean(hits))
    return p, math.sqrt(p * (1 - p) / n)


def _covers(low: np.ndarray, high: np.ndarray, value: np.ndarray | float) -> np.ndarray:
    """``low <= value <= high`` (rsimsum's closed interval: ``true >= lower & true <= upper``)."""
    return (low <= value) & (value <= high)


# ----- one cell ------------------------------------------------------------------------------
def _power_rule(cell: pd.DataFrame, power_rule: str) -> str:
    """The power rule for one condition x method x term cell."""
    has_p = "p_value" in cell.columns and bool(cell["p_value"].notna().any())
    if power_rule == "p_value" or (power_rule == "auto" and has_p):
        return RULE_P_VALUE
    return RULE_INTERVAL


def _measure_rows(
    rows: pd.DataFrame, rule: str, *, alpha: float, null: float, level: float
) -> list[dict]:
    """Every measure over ``rows`` (usable rows of one cell and subset)."""
    est = rows["estimate"].to_numpy(float)
    truth = rows["truth"].to_numpy(float)
    has_se = rows["std_error"].notna().to_numpy()
    has_ci = (rows["conf_low"].notna() & rows["conf_high"].notna()).to_numpy()
    se = rows["std_error"].to_numpy(float)[has_se]
    low = rows["conf_low"].to_numpy(float)[has_ci]
    high = rows["conf_high"].to_numpy(float)[has_ci]
    est_ci = est[has_ci]

    out = {
        "bias": (*_bias(est, truth), est.size, 0.0),
        "rbias": (*_rbias(est, truth), est.size, 0.0),
        "empse": (*_empse(est), est.size, math.nan),
        "mse": (*_mse(est, truth), est.size, 0.0),
        "rmse": (*_rmse(est, truth), est.size, 0.0),
        "modelse": (*_modelse(se), se.size, math.nan),
        "relerror": (*_relerror(est[has_se], se), se.size, 0.0),
        "cover": (*_proportion(_covers(low, high, truth[has_ci])), low.size, level),
        # bias-eliminated coverage: rsimsum puts mean(est) in place of the truth (Morris et
        # al. 2019, Section 5.2 and Table 6); the mean is over the same rows.
        "becover": (
            *_proportion(_covers(low, high, est_ci.mean() if est_ci.size else math.nan)),
            low.size,
            level,
        ),
    }
    if rule == RULE_P_VALUE:
        p = rows["p_value"].to_numpy(float)
        p = p[~np.isnan(p)]
        out["power"] = (*_proportion(p < alpha), p.size, math.nan)
    else:
        out["power"] = (*_proportion(~_covers(low, high, null)), low.size, math.nan)
    return [
        {"measure": m, "value": out[m][0], "mcse": out[m][1], "n": int(out[m][2]),
         "rule": rule if m == "power" else None, "target": out[m][3]}
        for m in MEASURES
    ]


# ----- public --------------------------------------------------------------------------------
def performance(
    estimates: pd.DataFrame,
    by: Sequence[str] | str | None = (),
    *,
    alpha: float = 0.05,
    null: float = 0.0,
    level: float = 0.95,
    power_rule: str = "auto",
) -> pd.DataFrame:
    """Compute rsimsum's performance measures with Monte Carlo SEs per condition x method x term.

    Parameters
    ----------
    estimates : DataFrame
        One row per replicate x condition x method x term with columns: the condition
        columns ``by``; ``rep``; ``method``; ``term``; ``estimate``; ``std_error``;
        ``conf_low``; ``conf_high``; ``truth``; ``converged`` (bool, missing = False);
        optionally ``p_value``, ``error`` (non-empty str: the fit failed) and any other
        columns (ignored; ``post_prob`` is accepted and not used).
    by : sequence of str or str, optional
        The condition (data-generating mechanism) columns; empty for a single condition.
    alpha : float
        Size of the test for the p-value power rule: a replicate rejects when
        ``p_value < alpha``.
    null : float
        The null value for the interval power rule: a replicate rejects when ``null`` lies
        outside ``[conf_low, conf_high]``.
    level : float
        Nominal level of the intervals in ``conf_low``/``conf_high``; only fills the
        ``target`` of ``cover`` and ``becover``.
    power_rule : {"auto", "p_value", "interval"}
        ``"auto"`` uses ``p_value < alpha`` for a condition x method x term cell whose
        ``p_value`` column has any non-missing value, and the interval rule otherwise (the
        Bayesian rule: the credible interval excludes ``null``).

    Returns
    -------
    DataFrame
        Long form, one row per condition x method x term x subset x measure, with columns:
        the ``by`` columns, ``method``, ``term``, ``subset``, ``measure``, ``value``,
        ``mcse``, ``n``, ``rule``, ``target``. Rows are sorted by condition (categorical
        columns in category order, unobserved categories left out), method and term, then
        ``subset`` (``all``, ``converged``) and ``measure`` in :data:`MEASURES` order.

        - ``subset``: ``"all"`` = every replicate whose fit did not fail and produced a
          (non-NaN) estimate, converged or not; ``"converged"`` = those of them with
          ``converged`` True. Failed fits (an ``error``, or a NaN estimate) cannot enter any
          measure; :func:`convergence_table` counts them.
        - ``measure``: one of :data:`MEASURES`, named as in rsimsum: ``bias``, ``rbias``
          (relative bias, a fraction; NaN when any truth in the cell is 0, the ratio being
          undefined), ``empse``, ``mse``, ``rmse`` (sqrt(mse); MCSE mcse(mse) / (2 rmse) by
          the delta method), ``modelse``, ``relerror`` (relative error in model SE, in
          percent), ``cover``, ``becover`` (bias-eliminated coverage: mean(estimate) in place
          of the truth), ``power``.
        - ``n``: the replicates that measure used. ``bias``, ``rbias``, ``empse``, ``mse``
          and ``rmse`` use every subset row; ``modelse`` and ``relerror`` the rows with a
          ``std_error``; ``cover``, ``becover`` and interval-rule ``power`` the rows with both
          interval limits; p-value ``power`` the rows with a ``p_value``. A measure needing
          two replicates (``empse``, ``relerror``, every MCSE but the proportions') is NaN
          below two, and every measure is NaN with ``n`` 0 when no row qualifies.
        - ``rule``: for ``power`` rows, ``"p_value<alpha"`` or ``"interval_excludes_null"``;
          None for the other measures.
        - ``target``: the value a perfect method attains: 0 for ``bias``, ``rbias``,
          ``mse``, ``rmse``, ``relerror``; ``level`` for ``cover`` and ``becover``; NaN for
          ``empse``, ``modelse``, ``power``.

    Raises
    ------
    SpecError
        When a required or condition column is missing, the frame has no rows, a condition
        column uses a reserved name, a condition x method x term x rep appears twice, or
        ``alpha``, ``level`` or ``power_rule`` is invalid.

    Notes
    -----
    Formulas: rsimsum's ``.performance`` and Morris et al. (2019), Table 6 (see each private
    helper). Coverage counts an interval that touches the truth as covering (closed interval,
    as rsimsum).

    """
    by = _check_frame(estimates, by)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie in (0, 1), not {alpha}")
    if not 0 < level < 1:
        raise SpecError(f"level must lie in (0, 1), not {level}")
    if power_rule not in ("auto", "p_value", "interval"):
        raise SpecError(f"power_rule must be 'auto', 'p_value' or 'interval', not {power_rule!r}")
    if power_rule == "p_value" and "p_value" not in estimates.columns:
        raise SpecError("power_rule='p_value' needs a p_value column")

    frame = estimates.assign(_usable=_usable(estimates), _conv=_converged(estimates))
    records = []
    for key, cell in frame.groupby([*by, "method", "term"], sort=True, dropna=False,
                                    observed=True):
        key = key if isinstance(key, tuple) else (key,)
        rule = _power_rule(cell, power_rule)
        for subset in SUBSETS:
            keep = cell["_usable"] if subset == "all" else cell["_usable"] & cell["_conv"]
            for row in _measure_rows(cell[keep], rule, alpha=alpha, null=null, level=level):
                labels = dict(zip([*by, "method", "term"], key, strict=True))
                records.append({**labels, "subset": subset, **row})
    out = pd.DataFrame.from_records(records, columns=[*by, *RESULT_COLUMNS])
    return out.astype({"value": float, "mcse": float, "n": int, "target": float})


def convergence_table(
    estimates: pd.DataFrame,
    by: Sequence[str] | str | None = (),
    *,
    rhat_threshold: float = 1.01,
    ess_threshold: float = 400.0,
) -> pd.DataFrame:
    """Count failed, non-converged and flagged replicates per condition x method.

    A replicate is one ``rep`` of one condition and method (its rows for several terms are
    pooled: a flag on any of them flags the replicate).

    Parameters
    ----------
    estimates : DataFrame
        The estimates frame of :func:`performance` (``by``, ``rep``, ``method``, ``term``,
        ``estimate``, ``converged``... columns), optionally with ``error`` (str),
        ``divergences`` (count), ``rhat_max``, ``ess_bulk_min`` and ``singular`` (bool).
    by : sequence of str or str, optional
        The condition columns.
    rhat_threshold : float
        A replicate counts in ``n_rhat_high`` when ``rhat_max > rhat_threshold``.
    ess_threshold : float
        A replicate counts in ``n_ess_low`` when ``ess_bulk_min < ess_threshold`` (400 =
        100 per chain for 4 chains, Vehtari et al. 2021).

    Returns
    -------
    DataFrame
        One row per condition x method with columns: the ``by`` columns, ``method``,
        ``n_reps`` (distinct replicates), ``n_failed`` (a non-empty ``error`` or no
        estimate for any term), ``n_not_converged`` (not failed, ``converged`` False for any
        term), ``n_converged`` (the rest: ``n_reps = n_failed + n_not_converged +
        n_converged``), and, only for the optional columns present, ``n_divergent``
        (``divergences > 0``), ``n_rhat_high``, ``n_ess_low`` and ``n_singular`` (these
        count over every replicate, failed ones included when they carry the column).

    Raises
    ------
    SpecError
        As :func:`performance` for a malformed frame.

    """
    by = _check_frame(estimates, by)
    failed = _failed(estimates) | estimates["estimate"].isna().to_numpy()
    flags = pd.DataFrame({
        "failed": failed,
        "not_converged": ~_converged(estimates),
    }, index=estimates.index)
    optional = {
        "n_divergent": ("divergences", lambda s: s.fillna(0) > 0),
        "n_rhat_high": ("rhat_max", lambda s: s > rhat_threshold),
        "n_ess_low": ("ess_bulk_min", lambda s: s < ess_threshold),
        "n_singular": ("singular", lambda s: pd.Series(_flag(s), index=s.index)),
    }
    present = {name: col for name, (col, _) in optional.items() if col in estimates.columns}
    for name, (col, test) in optional.items():
        if col in present.values():
            flags[name] = test(estimates[col]).to_numpy()
    keys = [*by, "method"]
    per_rep = pd.concat([estimates[[*keys, "rep"]], flags], axis=1).groupby(
        [*keys, "rep"], sort=True, dropna=False, observed=True).any()
    per_rep["not_converged"] &= ~per_rep["failed"]
    grouped = per_rep.groupby(level=list(range(len(keys))), sort=True, dropna=False,
                              observed=True)
    out = pd.DataFrame({
        "n_reps": grouped.size(),
        "n_failed": grouped["failed"].sum(),
        "n_not_converged": grouped["not_converged"].sum(),
    })
    out["n_converged"] = out["n_reps"] - out["n_failed"] - out["n_not_converged"]
    for name in present:
        out[name] = grouped[name].sum()
    return out.reset_index().astype({c: int for c in out.columns})
