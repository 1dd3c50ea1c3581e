"""Figures of a simulation study: zip, measure-by-condition, nested-loop, rank histogram, ECDF.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot: no global
state, no window; PNG/PDF/SVG are written by matplotlib's Agg-based canvases through
``fig.savefig``) and returns it. Inputs are the tidy frames of
:mod:`pybrms.simstudy.performance` and :mod:`pybrms.simstudy.sbc`.

Sources: the zip plot is Morris, White & Crowther (2019), Figure 5, as rsimsum's
``autoplot(type = "zip")`` (``.zip_plot`` in ``R/plot-types.R``); the nested-loop plot is
Rücker & Schwarzer (2014), "Presenting simulation results in a nested loop plot", BMC
Medical Research Methodology 14:129, as rsimsum's ``.nlp``; the rank histogram and the
ECDF-difference plot are the SBC package's ``plot_rank_hist`` and ``plot_ecdf_diff`` with the
band of Säilynoja, Bürkner & Vehtari (2022).

The figures live in modules by concern, all importable from here:
:mod:`.figures_performance` (zip, measure, nested-loop) and :mod:`.figures_sbc` (rank
histogram, ECDF difference); shared helpers in :mod:`.figures_common`.
"""

from __future__ import annotations

from .figures_common import MEASURE_LABELS, ZIP_COLOURS
from .figures_performance import measure_plot, nested_loop_plot, zip_plot
from .figures_sbc import ecdf_diff_plot, rank_histogram

__all__ = ["MEASURE_LABELS", "ZIP_COLOURS", "ecdf_diff_plot", "measure_plot",
           "nested_loop_plot", "rank_histogram", "zip_plot"]
