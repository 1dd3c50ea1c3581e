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


class RWarning(UserWarning):
    """A warning R raised during a pybrms call, re-emitted in Python so it is never lost."""
