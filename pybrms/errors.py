"""Exception hierarchy: every error pybrms raises on purpose derives from :class:`PybrmsError`."""

from __future__ import annotations


class PybrmsError(Exception):
    """Base class of all pybrms errors."""


class SpecError(PybrmsError, ValueError):
    """A formula, family, prior or hypothesis is malformed or inconsistent."""


class DataError(PybrmsError, ValueError):
    """The data does not fit the model: a missing column, NaN, a bad response value..."""


class EngineError(PybrmsError):
    """An engine cannot fit what was asked (unknown engine, inexpressible formula)."""


class RNotAvailableError(PybrmsError, RuntimeError):
    """R, or an R package pybrms needs, is not installed or cannot be loaded."""


class RError(PybrmsError, RuntimeError):
    """R raised an error; ``r_message`` holds R's own message text."""

    def __init__(self, message: str, r_message: str = "") -> None:
        super().__init__(message)
        self.r_message = r_message


# ----- warnings: one hierarchy, so users can filter all of pybrms's or one engine's -----------
class PybrmsWarning(UserWarning):
    """Base class of every warning pybrms emits."""


class RWarning(PybrmsWarning):
    """A warning R raised during a pybrms call, re-emitted in Python so it is never lost."""


class EngineWarning(PybrmsWarning):
    """A message an engine recorded about a fit (convergence, singular fit, ...).

    Every such message is also kept, in the engine's words, on the fit's ``.warnings``.
    """


class ConvergenceWarning(EngineWarning):
    """brms: divergences, tree-depth hits, Rhat > 1.01 or low effective sample size."""


class Lme4Warning(EngineWarning):
    """lme4: a convergence, singular-fit or other message lme4 recorded for a fit."""


class StatsmodelsWarning(EngineWarning):
    """statsmodels: a convergence or other warning statsmodels raised during a fit."""
