"""The arguments brms's post-processing methods share, checked once before R sees them.

:class:`PredictArgs` is the one argument object of every prediction method (``newdata``,
``re_formula``, ``ndraws``, ``draw_ids``, ``allow_new_levels``, ``sample_new_levels``,
``seed``), as brms's ``prepare_predictions()`` takes them for every ``posterior_*`` method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...errors import PybrmsError

#: brms's ways of drawing the effects of group levels a fit has not seen
SAMPLE_NEW_LEVELS = ("uncertainty", "gaussian", "old_levels")


def re_formula_text(re_formula: Any) -> str | None:
    """Brms's ``re_formula`` as text for R: None (every group-level term, R's ``NULL``),
    ``"NA"`` (none; also ``float("nan")``, ``"~0"``) or a formula such as ``"~ (1 | g)"``.

    Raises
    ------
    PybrmsError
        For anything else.
    """
    if re_formula is None:
        return None
    if isinstance(re_formula, float) and math.isnan(re_formula):
        return "NA"
    if not isinstance(re_formula, str):
        raise PybrmsError(f"re_formula must be None, 'NA' or a formula text, got {re_formula!r}")
    text = re_formula.strip()
    if text in ("NA", "~0", "~ 0"):
        return "NA"
    if "~" not in text:
        raise PybrmsError(f"re_formula must be None, 'NA' or a formula such as '~ (1 | g)', "
                          f"got {re_formula!r}")
    return text


def check_seed(seed: Any) -> int | None:
    """``seed`` as an int for R's ``set.seed`` (None: no ``set.seed``)."""
    if seed is None:
        return None
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise PybrmsError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def check_probs(probs: Sequence[float]) -> list[float]:
    """Quantile probabilities, each in [0, 1]."""
    out = [float(p) for p in probs]
    if not out or any(not 0 <= p <= 1 for p in out):
        raise PybrmsError(f"probs must be probabilities in [0, 1], got {list(probs)}")
    return out


@dataclass(frozen=True)
class PredictArgs:
    """The arguments of every brms prediction method, as brms names them.

    Attributes
    ----------
    newdata : DataFrame, optional
        Data to predict for (default: the fitted data).
    re_formula : str or float, optional
        Group-level terms to include (see :func:`re_formula_text`).
    ndraws : int, optional
        Use this many randomly chosen draws (R's RNG: give ``seed``).
    draw_ids : sequence of int, optional
        The draws to use, numbered from 1 as in brms.
    allow_new_levels : bool
        Whether ``newdata`` may hold group levels the fit has not seen.
    sample_new_levels : {"uncertainty", "gaussian", "old_levels"}
        How the effects of new levels are drawn.
    seed : int, optional
        ``set.seed(seed)`` in R right before the call.
    """

    newdata: pd.DataFrame | None = None
    re_formula: str | float | None = None
    ndraws: int | None = None
    draw_ids: Sequence[int] | None = None
    allow_new_levels: bool = False
    sample_new_levels: str = "uncertainty"
    seed: int | None = None

    def for_r(self, total: int, **extra: Any) -> dict[str, Any]:
        """The arguments R's ``pybrms_*`` prediction helpers take, checked against a fit with
        ``total`` draws; ``extra`` (``summary``, ``probs``, ``transform``...) is added as is.

        Raises
        ------
        PybrmsError
            Naming the argument that is wrong.
        """
        newdata = self.newdata
        if newdata is not None and not isinstance(newdata, pd.DataFrame):
            raise PybrmsError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        n = self.ndraws
        if n is not None and (not isinstance(n, (int, np.integer)) or isinstance(n, bool)
                              or not 1 <= n <= total):
            raise PybrmsError(f"ndraws must be an integer in 1..{total}, got {n!r}")
        ids = None
        if self.draw_ids is not None:
            ids = [int(i) for i in np.atleast_1d(np.asarray(self.draw_ids))]
            bad = [i for i in ids if not 1 <= i <= total]
            if bad or not ids:
                raise PybrmsError(
                    f"draw_ids are numbered 1..{total} as in brms; got {bad or 'none'}")
        if self.sample_new_levels not in SAMPLE_NEW_LEVELS:
            raise PybrmsError("sample_new_levels must be 'uncertainty', 'gaussian' or "
                              f"'old_levels', got {self.sample_new_levels!r}")
        return {"newdata": newdata, "ndraws": None if n is None else int(n),
                "draw_ids": ids, "allow_new_levels": bool(self.allow_new_levels),
                "sample_new_levels": self.sample_new_levels, **extra}

    @property
    def r_re_formula(self) -> str | None:
        """``re_formula`` as R text (:func:`re_formula_text`)."""
        return re_formula_text(self.re_formula)

    @property
    def r_seed(self) -> int | None:
        """``seed`` checked (:func:`check_seed`)."""
        return check_seed(self.seed)
