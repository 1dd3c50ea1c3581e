"""The brms engine: build the model in brms, compile once (cached), sample, wrap the result.

One module per concern, as brms's own ``R/`` folder: :mod:`.build` (``brm(empty = TRUE)``,
``get_prior``, ``stancode``, ``standata``), :mod:`.compile` (the program cache),
:mod:`.sampling` (the one sampling path of a fit and ``update()``), :mod:`.fitting`
(:func:`fit`, :func:`brm`), :mod:`.options` (:class:`BrmsOptions`) and the fitted model,
:class:`BrmsFit` (:mod:`.brmsfit`, its methods in modules by concern).

This package is the engine the registry (:mod:`pybrms.engines`) loads: ``name``,
``capabilities``, ``options``, ``check`` and ``fit``.
"""

from __future__ import annotations

from ...spec.model import FitSpec
from ..base import Capabilities
from .brmsfit import METHOD, BrmsFit, load
from .compile import compiled_model, toolchain
from .criteria import loo_compare
from .fitting import brm, fit, model_args, preflight, prepare
from .options import NAME, BrmsOptions

name = NAME
capabilities = Capabilities(
    bayesian=True, exact=True, hypotheses=True, draws=True, loo=True, sampler=True,
    compiles=True, saves_native=True, uses_priors=True,
)
options = BrmsOptions


def check(spec: FitSpec) -> None:
    """Brms expresses every formula pybrms parses; brms's build step judges the rest."""


__all__ = ["METHOD", "NAME", "BrmsFit", "BrmsOptions", "brm", "capabilities", "check",
           "compiled_model", "fit", "load", "loo_compare", "model_args", "name", "options",
           "preflight", "prepare", "toolchain"]
