"""brms's ``hypothesis()`` on a brmsfit (brms's ``hypothesis.R``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from ...spec.hypotheses import check_terms, parse_hypothesis
from .held import HeldFit


class HypothesisMethods(HeldFit):
    """``hypothesis()``, with brms's own table."""

    def hypothesis(
        self,
        hypotheses: str | Sequence[str],
        alpha: float = 0.05,
        class_: str = "b",
        robust: bool = False,
    ) -> pd.DataFrame:
        """``brms::hypothesis()``: columns Hypothesis, Estimate, Est.Error, CI.Lower,
        CI.Upper, Evid.Ratio, Post.Prob, Star, with brms's values.

        One-sided hypotheses get a ``1 - 2 * alpha`` interval (brms's convention), so
        ``alpha = 0.05`` gives 90% intervals, as in the paper's tables.

        Raises
        ------
        SpecError
            If a hypothesis is malformed or names a parameter the model does not have.

        """
        items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
        if not 0 < alpha < 1:
            raise PybrmsError(f"alpha must be in (0, 1), got {alpha}")
        parsed = [parse_hypothesis(h) for h in items]
        if class_ == "b":
            check_terms(parsed, list(self.fixef()["term"]))
        out = bridge.to_pandas(
            bridge.call("pybrms_hypothesis", self._r, items, float(alpha), class_, robust)
        )
        out["Star"] = out["Star"].fillna("").astype(str)
        return out

