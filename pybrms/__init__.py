"""pybrms: run brms models from Python exactly as in R; lme4 and statsmodels beside them.

The public API is imported lazily so that ``import pybrms`` never starts R.
"""

from __future__ import annotations

from typing import Any

# the bridge records the dynamic-loader environment now, before anything can start R, so that it
# can put it back once R has started (it imports rpy2 only when R is first needed)
from . import bridge as _bridge  # noqa: F401

# compare is imported eagerly (numpy/pandas/scipy only): a lazy attribute would be shadowed by
# the subpackage pybrms.compare as soon as that is imported
from .compare.table import compare as compare
from .errors import (
    ConvergenceWarning,
    DataError,
    EngineError,
    EngineWarning,
    PybrmsError,
    PybrmsWarning,
    RError,
    RNotAvailableError,
    SpecError,
)
from .sensitivity import sensitivity as sensitivity  # eager, as compare (no dask until run)
from .simstudy import simstudy as simstudy  # eager for the same reason
from .spec.families import family
from .spec.priors import Prior, prior
from .spec.rcode import R, bf, custom_family, lf, nlf, save_pars, set_rescor, stanvar
from .verify import verify as verify  # eager for the same reason (numpy/pandas only)


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, via its metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pybrms")
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


__version__ = _version()

_LAZY = {
    "brm": ("pybrms.engines.brms", "brm"),
    "BrmsFit": ("pybrms.engines.brms", "BrmsFit"),
    "load": ("pybrms.engines.brms", "load"),
    "loo_compare": ("pybrms.engines.brms", "loo_compare"),
    "FitSpec": ("pybrms.spec.model", "FitSpec"),
    "FitResult": ("pybrms.results", "FitResult"),
    "fit": ("pybrms.fitset", "fit"),
    "get_prior": ("pybrms.engines.brms.build", "get_prior"),
    "default_prior": ("pybrms.engines.brms.build", "default_prior"),
    "validate_prior": ("pybrms.engines.brms.build", "validate_prior"),
    "stancode": ("pybrms.engines.brms.build", "stancode"),
    "standata": ("pybrms.engines.brms.build", "standata"),
    "read_csv": ("pybrms.rread", "read_csv"),
    "read_rds": ("pybrms.rread", "read_rds"),
    "load_rdata": ("pybrms.rread", "load_rdata"),
    "r_dataset": ("pybrms.rread", "r_dataset"),
}

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "EngineError",
    "EngineWarning",
    "PybrmsError",
    "PybrmsWarning",
    "Prior",
    "RError",
    "RNotAvailableError",
    "SpecError",
    "R",
    "bf",
    "custom_family",
    "family",
    "lf",
    "nlf",
    "prior",
    "save_pars",
    "sensitivity",
    "simstudy",
    "set_rescor",
    "stanvar",
    "verify",
    *_LAZY,
]


def __dir__() -> list[str]:
    """The public API, lazy names included (tab completion shows ``brm``, ``fit``...)."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'pybrms' has no attribute {name!r}")
