"""SBC ranks: the rank of each true value among its thinned posterior draws.

Ranks follow the SBC package (https://github.com/hyunjimoon/SBC, read at commit d9cb737:
``calculate_ranks_draws_matrix`` and ``compute_SBC``'s thinning in ``R/results.R``). Part of
:mod:`pybrms.simstudy.sbc` (import the public names from there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pybrms.errors import SpecError

#: SBC's default rank thinning for MCMC fits (``SBC_backend_default_thin_ranks``)
DEFAULT_THIN = 10
#: SBC's default ``ensure_num_ranks_divisor`` in ``compute_SBC``
DEFAULT_RANKS_DIVISOR = 2

Seed = int | np.random.Generator | None


# ----- ranks ----------------------------------------------------------------------------------
def _thin_chain(chain: np.ndarray, thin: int) -> np.ndarray:
    """Every ``thin``-th draw from the first: posterior's ``thin_draws``.

    posterior keeps iterations ``round(seq(1, niterations, by = thin))`` of every chain; for
    an integer ``thin`` these are 1, 1 + thin, 1 + 2 thin, ... (1-based).
    """
    return chain[::thin]


def _thinned(values: np.ndarray, thin: int, divisor: int) -> np.ndarray:
    """Thin per chain, merge chains, then drop draws so ``divisor`` divides ``max_rank + 1``.

    ``values`` is 1-D (one chain) or 2-D (chains x iterations). The merge is chain after
    chain (posterior's ``merge_chains``); SBC's ``compute_SBC`` then keeps the first
    ``ndraws - (ndraws + 1) %% divisor`` draws (``ensure_num_ranks_divisor``).
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise SpecError(f"draws must be 1-D or chains x iterations, not shape {arr.shape}")
    if thin > arr.shape[1]:
        raise SpecError(f"thin={thin} exceeds the {arr.shape[1]} iterations per chain")
    merged = np.concatenate([_thin_chain(c, thin) for c in arr])
    drop = (merged.size + 1) % divisor
    return merged[: merged.size - drop] if merged.size - drop > 0 else merged


def thinned_max_rank(
    n_iterations: int,
    n_chains: int = 1,
    thin: int | None = DEFAULT_THIN,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
) -> int:
    """The number of draws left after :func:`sbc_ranks`' thinning: the maximum rank ``L``.

    Parameters
    ----------
    n_iterations : int
        Post-warm-up iterations per chain.
    n_chains : int
        Number of chains.
    thin : int or None
        Thinning period (None: 1).
    ensure_num_ranks_divisor : int
        As in :func:`sbc_ranks`.

    Returns
    -------
    int
        ``L``; ranks lie in ``0..L``.

    """
    thin = _check_thin(thin)
    kept = n_chains * len(range(0, n_iterations, thin))
    drop = (kept + 1) % ensure_num_ranks_divisor
    return kept - drop if kept - drop > 0 else kept


def _check_thin(thin: int | None) -> int:
    thin = 1 if thin is None else thin
    if int(thin) != thin or thin < 1:
        raise SpecError(f"thin must be a positive integer, not {thin!r}")
    return int(thin)


def _draws_by_variable(draws: Mapping[str, np.ndarray] | pd.DataFrame) -> Mapping[str, object]:
    """Per-variable arrays (1-D, or chains x iterations) from a mapping or a draws frame."""
    if isinstance(draws, pd.DataFrame):
        meta = {".chain", ".iteration", ".draw"}
        cols = [c for c in draws.columns if c not in meta]
        if ".chain" not in draws.columns:
            return {c: draws[c].to_numpy(float) for c in cols}
        chains = [g for _, g in draws.groupby(".chain", sort=True)]
        if len({len(g) for g in chains}) != 1:
            raise SpecError("every .chain of the draws frame must have the same length")
        return {c: np.stack([g[c].to_numpy(float) for g in chains]) for c in cols}
    if isinstance(draws, Mapping):
        return draws
    raise SpecError(f"draws must be a mapping or a DataFrame, not {type(draws).__name__}")


def sbc_ranks(
    truth: Mapping[str, float],
    draws: Mapping[str, np.ndarray] | pd.DataFrame,
    thin: int | None = DEFAULT_THIN,
    *,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
    seed: Seed = None,
) -> dict[str, int]:
    """Rank of each true value among its thinned posterior draws (the SBC statistic).

    The rank is the number of thinned draws strictly below the truth; draws equal to the truth
    (and NaN draws, which SBC counts as possibly equal) are ties, and the rank is drawn
    uniformly from ``below .. below + ties`` (SBC's ``calculate_ranks_draws_matrix``, which
    draws ``rdunif(0, ties)``). Ranks lie in ``0..L`` with ``L`` the number of kept draws.

    Thinning (SBC's ``compute_SBC``): every ``thin``-th iteration of each chain from the first
    is kept (posterior's ``thin_draws``), the chains are concatenated, and the last
    ``(n + 1) % ensure_num_ranks_divisor`` draws are dropped so that the number of possible
    ranks ``L + 1`` is divisible by ``ensure_num_ranks_divisor``. Thinning removes the
    autocorrelation of MCMC draws, which would otherwise make ranks non-uniform even for a
    calibrated model; SBC's default for MCMC is 10 (``SBC_backend_default_thin_ranks``), and
    ``thin=1`` (or None) suits independent draws.

    Parameters
    ----------
    truth : mapping of str to float
        The values the dataset was simulated from, by variable name. Only these variables are
        ranked.
    draws : mapping of str to array, or DataFrame
        Posterior draws per variable: a 1-D array (one chain, or chains already merged) or a
        2-D chains x iterations array; or a draws frame with one column per variable and
        optionally a ``.chain`` column (posterior's ``draws_df``; ``.iteration`` and ``.draw``
        are ignored, rows are taken in order within each chain).
    thin : int or None
        Thinning period (default 10, SBC's default for MCMC; None means 1).
    ensure_num_ranks_divisor : int
        Drop at most this minus one draws so it divides ``L + 1`` (SBC's default 2; 1 keeps
        every thinned draw).
    seed : int, numpy Generator or None
        Seeds the tie-breaking draws.

    Returns
    -------
    dict of str to int
        Variable -> rank, in the order of ``truth``. :func:`thinned_max_rank` gives ``L``.

    Raises
    ------
    SpecError
        A variable of ``truth`` has no draws, a truth is not finite, or ``thin`` is invalid.

    """
    return {v: int(r) for v, r in
            _rank_table(truth, draws, thin, ensure_num_ranks_divisor, seed)[["variable", "rank"]]
            .itertuples(index=False)}


def sbc_rank_frame(
    truth: Mapping[str, float],
    draws: Mapping[str, np.ndarray] | pd.DataFrame,
    thin: int | None = DEFAULT_THIN,
    *,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
    seed: Seed = None,
) -> pd.DataFrame:
    """:func:`sbc_ranks` as a frame that also carries the maximum rank of each variable.

    Parameters
    ----------
    truth, draws, thin, ensure_num_ranks_divisor, seed
        As in :func:`sbc_ranks`.

    Returns
    -------
    DataFrame
        One row per variable of ``truth`` with columns ``variable``, ``simulated_value``,
        ``rank``, ``max_rank`` (the SBC package's ``stats`` names). A study's rank frame is
        these rows stacked over replicates with ``rep`` (and ``method``, condition) columns
        added; :func:`sbc_test` and the SBC figures take that frame.

    """
    return _rank_table(truth, draws, thin, ensure_num_ranks_divisor, seed)


def _rank_table(truth, draws, thin, divisor, seed) -> pd.DataFrame:
    thin = _check_thin(thin)
    if int(divisor) != divisor or divisor < 1:
        raise SpecError(f"ensure_num_ranks_divisor must be a positive integer, not {divisor}")
    by_var = _draws_by_variable(draws)
    missing = [v for v in truth if v not in by_var]
    if missing:
        raise SpecError(f"no posterior draws for {missing}")
    rng = np.random.default_rng(seed)
    rows = []
    for var, value in truth.items():
        value = float(value)
        if not math.isfinite(value):
            raise SpecError(f"the true value of {var!r} is {value}, not a finite number")
        kept = _thinned(np.asarray(by_var[var]), thin, int(divisor))
        below = int(np.sum(kept < value))
        ties = int(np.sum((kept == value) | np.isnan(kept)))
        rank = below + int(rng.integers(0, ties + 1))
        rows.append({"variable": var, "simulated_value": value, "rank": rank,
                     "max_rank": int(kept.size)})
    return pd.DataFrame(rows, columns=["variable", "simulated_value", "rank", "max_rank"])

