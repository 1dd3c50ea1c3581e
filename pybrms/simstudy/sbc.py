"""Simulation-based calibration (SBC): ranks, simultaneous ECDF bands and a uniformity test.

Ranks follow the SBC package (https://github.com/hyunjimoon/SBC, read at commit d9cb737:
``calculate_ranks_draws_matrix`` and ``compute_SBC``'s thinning in ``R/results.R``); the bands
and their adjustment follow Säilynoja, Bürkner & Vehtari (2022), "Graphical test for discrete
uniformity and its applications in goodness-of-fit evaluation and multiple sample comparison",
Statistics and Computing 32:32, as implemented in the SBC package's ``R/calculate.R``
(``adjust_gamma``, ``adjust_gamma_optimize``, ``adjust_gamma_simulate``, ``alpha_quantile``,
``ecdf_intervals``) and ``R/plot.R`` (``data_for_ecdf_plots``, ``plot_rank_hist``).

Vocabulary: ``N`` is the number of rank sets (simulated datasets), ``max_rank`` the number of
thinned posterior draws (ranks lie in ``0..max_rank``), ``K`` the number of ECDF evaluation
points ``z_i = i / K`` and, in :func:`adjust_gamma` and :func:`ecdf_bands` only, ``L`` the
number of *samples* compared at once (Säilynoja et al.'s L: 1 for SBC; several for comparing
chains), not the number of draws.

The code lives in three modules by concern, and every public name is importable from here:
:mod:`.sbc_ranks` (ranks and thinning), :mod:`.sbc_bands` (the simultaneous band and its
adjustment) and :mod:`.sbc_uniformity` (ECDF of ranks, binned ranks and :func:`sbc_test`).
"""

from __future__ import annotations

from .sbc_bands import adjust_gamma, ecdf_band_coverage, ecdf_bands
from .sbc_ranks import (
    DEFAULT_RANKS_DIVISOR,
    DEFAULT_THIN,
    Seed,
    sbc_rank_frame,
    sbc_ranks,
    thinned_max_rank,
)
from .sbc_uniformity import (
    TEST_COLUMNS,
    bin_ranks,
    default_bins,
    default_k,
    rank_ecdf,
    rank_histogram_band,
    sbc_test,
)

__all__ = [
    "DEFAULT_RANKS_DIVISOR", "DEFAULT_THIN", "TEST_COLUMNS", "Seed", "adjust_gamma",
    "bin_ranks", "default_bins", "default_k", "ecdf_band_coverage", "ecdf_bands", "rank_ecdf",
    "rank_histogram_band", "sbc_rank_frame", "sbc_ranks", "sbc_test", "thinned_max_rank",
]
