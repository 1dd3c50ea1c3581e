"""``BrmsFit``: a fitted brms model held in R, with brms's own numbers brought to Python.

One class, its methods in modules by concern as brms keeps its R files: summaries and draws
(:mod:`.summaries`), ``hypothesis`` (:mod:`.hypothesis`), ArviZ conversion (:mod:`.convert`),
predictions (:mod:`.predict`), conditional effects and ``pp_check`` (:mod:`.effects`),
LOO/WAIC/K-fold/R2/Bayes factors (:mod:`.criteria`; LOO and WAIC as ArviZ ELPDData:
:mod:`.elpd`), ``emmeans`` (:mod:`.emmeans`),
``update`` (:mod:`.refit`) and saving (:mod:`.persist`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ... import bridge
from ...errors import PybrmsError
from ...results import PosteriorFitResult
from .convert import ArvizMethods
from .criteria import CriteriaMethods
from .effects import EffectsMethods
from .emmeans import EmmeansMethods
from .hypothesis import HypothesisMethods
from .persist import PersistMethods
from .predict import PredictMethods
from .refit import RefitMethods
from .summaries import SummaryMethods

#: how brms estimates (the ``method`` of its tidy rows)
METHOD = "NUTS (Stan, through brms and rstan)"


class BrmsFit(SummaryMethods, HypothesisMethods, ArvizMethods, PredictMethods, EffectsMethods,
              CriteriaMethods, EmmeansMethods, RefitMethods, PersistMethods, PosteriorFitResult):
    """A fitted brms model (engine ``brms``).

    Parameters
    ----------
    rfit : rpy2 object
        The R ``brmsfit``.
    provenance : dict
        In the layout of :func:`pybrms.results.make_provenance` (versions, seed, options,
        data hash, timing; ``details`` holds the Stan program key and whether it was
        compiled).

    """

    engine = "brms"

    def __init__(self, rfit: Any, provenance: dict | None = None) -> None:
        self._r = rfit
        self.provenance: dict = dict(provenance or {})
        self.provenance.setdefault("warnings", [])
        self.method = str(self.provenance.get("method", METHOD))
        self._cache: dict[str, Any] = {}

    @property
    def r(self) -> Any:
        """The underlying R ``brmsfit`` object."""
        return self._r

    def __repr__(self) -> str:
        p = self.provenance
        return f"<BrmsFit {p.get('formula', '?')!r} family={p.get('family', '?')} seed={p.get('seed')}>"


def load(path: str | os.PathLike) -> BrmsFit:
    """Load a fit written by :meth:`BrmsFit.save` (or any brmsfit ``.rds`` from R)."""
    path = Path(path)
    if not path.exists():
        raise PybrmsError(f"no saved fit at {path}")
    meta = path.with_suffix(".json")
    prov = json.loads(meta.read_text()) if meta.exists() else {"source": str(path)}
    return BrmsFit(bridge.call("pybrms_read_rds", str(path)), provenance=prov)
