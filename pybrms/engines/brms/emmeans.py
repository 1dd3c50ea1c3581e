"""Estimated marginal means and contrasts of a brmsfit (R's ``emmeans``, which brms supports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from .held import HeldFit


class EmmeansMethods(HeldFit):
    """``emmeans()``."""

    def emmeans(
        self,
        specs: str,
        *,
        at: dict[str, Any] | None = None,
        contrast: str | None = None,
        by: str | Sequence[str] | None = None,
        type: str | None = None,  # noqa: A002 - emmeans's name
        level: float = 0.95,
    ) -> dict[str, pd.DataFrame]:
        """Estimated marginal means and contrasts (R's ``emmeans``; brms supports it).

        Parameters
        ----------
        specs : str
            emmeans's ``specs`` as a formula (``"~ Trt"``, ``"~ Trt | zAge"``) or a variable
            name (``"Trt"``).
        at : dict, optional
            Values of numeric predictors at which to compute the means.
        contrast : str, optional
            ``emmeans::contrast`` method (``"pairwise"``, ``"revpairwise"``, ``"trt.vs.ctrl"``,
            ``"poly"``...).
        by : str or sequence, optional
            ``by`` variables.
        type : str, optional
            ``"response"`` for the response scale (default: the link scale).
        level : float
            HPD interval level.

        Returns
        -------
        dict
            ``emmeans`` (one row per cell: ``emmean``, ``lower.HPD``, ``upper.HPD``) and,
            with ``contrast``, ``contrasts`` (``contrast``, ``estimate``, HPD bounds).

        """
        if not isinstance(specs, str) or not specs.strip():
            raise PybrmsError(f"specs must be a formula text or a variable name, got {specs!r}")
        formula = specs if "~" in specs else f"~ {specs}"
        if not 0 < level < 1:
            raise PybrmsError(f"level must be in (0, 1), got {level}")
        at_r = {k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v])
                for k, v in (at or {}).items()}
        out = bridge.to_py(bridge.call(
            "pybrms_emmeans", self._r, formula, at_r, contrast, float(level), type,
            [by] if isinstance(by, str) else (None if by is None else list(by))))
        return out

