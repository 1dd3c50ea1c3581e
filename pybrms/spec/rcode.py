"""R expressions written from Python: the objects behind ``pybrms.bf()``, ``save_pars()``...

brms's arguments are often R objects, not plain values: ``bf(y ~ x, sigma ~ x)``,
``save_pars(all = TRUE)``, ``stanvar(10, name = "s")``, ``cumulative("probit")``. Two ways to
write them from Python, both pure Python until the bridge evaluates them in R:

- :class:`RCode`: R source text, evaluated as written (``pybrms.R("save_pars(all = TRUE)")``);
- :class:`RCall`: a function name and Python arguments. The bridge converts each argument with
  its ordinary rules (so numbers reach R as the exact doubles, never as decimal text) and
  calls the function with ``do.call``. Strings that are formulas (:class:`RFormula`) become
  R formulas.

``+`` combines them as in R: ``bf("y ~ a * x", "a ~ 1", nl=True) + set_rescor(False)``.
:meth:`RExpr.code` renders the R source a user would write, for messages and provenance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError


class RExpr:
    """An R expression built in Python; evaluated by the bridge (see :mod:`pybrms.bridge`)."""

    def code(self) -> str:  # pragma: no cover - abstract
        """The R source of the expression."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The expression for provenance: ``{"code": <R source>}``."""
        return {"code": self.code()}

    def __add__(self, other: Any) -> RCall:
        if not isinstance(other, (RExpr, str)):
            return NotImplemented
        return RCall("+", self, other if isinstance(other, RExpr) else RCode(other))

    def __radd__(self, other: Any) -> RCall:
        if not isinstance(other, str):
            return NotImplemented
        return RCall("+", RCode(other), self)

    def __str__(self) -> str:
        return self.code()


@dataclass(frozen=True, eq=False)
class RCode(RExpr):
    """R source text, evaluated in R's global environment as an R script would.

    Parameters
    ----------
    text : str
        E.g. ``"save_pars(all = TRUE)"`` or ``"bf(y ~ x, sigma ~ x)"``.
    """

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise SpecError(f"R code must be a non-empty string, got {self.text!r}")
        check_balanced(self.text)

    def code(self) -> str:
        """The text as given."""
        return self.text.strip()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RCode) and other.text.strip() == self.text.strip()

    def __hash__(self) -> int:
        return hash(("RCode", self.text.strip()))


@dataclass(frozen=True, eq=False)
class RFormula(RExpr):
    """An R formula written as text, e.g. ``"sigma ~ x"``; becomes ``as.formula(text)``."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or "~" not in self.text:
            raise SpecError(f"{self.text!r} is not a formula (no '~')")
        check_balanced(self.text)

    def code(self) -> str:
        """The formula as written."""
        return self.text.strip()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RFormula) and other.text.strip() == self.text.strip()

    def __hash__(self) -> int:
        return hash(("RFormula", self.text.strip()))


@dataclass(frozen=True, eq=False)
class RCall(RExpr):
    """A call of the R function ``fn`` with Python arguments (converted exactly by the bridge).

    Parameters
    ----------
    fn : str
        The R function, e.g. ``"bf"``, ``"save_pars"``, ``"+"``.
    *args, **kwargs
        Arguments: Python values (``True``, numbers, strings, lists, dicts, DataFrames),
        :class:`RExpr` objects, or formulas as :class:`RFormula`.
    """

    fn: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, fn: str, *args: Any, **kwargs: Any) -> None:
        if not isinstance(fn, str) or not fn:
            raise SpecError(f"an R function name must be a non-empty string, got {fn!r}")
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "args", tuple(args))
        object.__setattr__(self, "kwargs", dict(kwargs))

    def code(self) -> str:
        """The R source a user would write, e.g. ``bf(y ~ x, sigma ~ x)``."""
        if self.fn == "+" and len(self.args) == 2 and not self.kwargs:
            return f"{r_code(self.args[0])} + {r_code(self.args[1])}"
        parts = [r_code(a) for a in self.args]
        parts += [f"{k} = {r_code(v)}" for k, v in self.kwargs.items()]
        return f"{self.fn}({', '.join(parts)})"

    def walk(self):
        """Yield this call and every :class:`RExpr` nested in its arguments."""
        yield self
        for v in (*self.args, *self.kwargs.values()):
            if isinstance(v, RCall):
                yield from v.walk()
            elif isinstance(v, RExpr):
                yield v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RCall) and other.code() == self.code()

    def __hash__(self) -> int:
        return hash(("RCall", self.code()))


def r_code(value: Any) -> str:
    """R source for a Python value: ``True`` -> ``TRUE``, ``None`` -> ``NULL``, lists -> ``c()``."""
    if isinstance(value, RExpr):
        return value.code()
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}L" if abs(value) < 2**31 else repr(float(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "list(" + ", ".join(f"{k} = {r_code(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "c(" + ", ".join(r_code(v) for v in value) + ")"
    return f"<{type(value).__name__}>"


def scan(text: str):
    """Walk R code outside quotes: yield ``(index, char, depth)`` for every character not in a
    string or backtick name, ``depth`` counting the brackets open before it.

    Raises
    ------
    SpecError
        If brackets do not pair up or a quote is not closed.
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        else:
            if ch in pairs and (not stack or stack.pop() != pairs[ch]):
                raise SpecError(f"unbalanced {ch!r} in {text!r}")
            yield i, ch, len(stack) + (ch in pairs)
            if ch in "([{":
                stack.append(ch)
        i += 1
    if quote:
        raise SpecError(f"unterminated {quote} quote in {text!r}")
    if stack:
        raise SpecError(f"unbalanced {stack[-1]!r} in {text!r}")


def check_balanced(text: str) -> None:
    """Raise :class:`SpecError` if brackets or quotes in R code ``text`` do not balance."""
    for _ in scan(text):
        pass


def _formula_args(args: tuple) -> tuple:
    return tuple(RFormula(a) if isinstance(a, str) and "~" in a else a for a in args)


def bf(formula: str | RExpr, *pforms: str | RExpr, **kwargs: Any) -> RCall:
    """``brms::bf()``: a formula with non-linear or distributional parts, as in R.

    ``pybrms.bf("y ~ a * exp(b * x)", "a ~ 1 + (1 | g)", "b ~ 1", nl=True)`` is R's
    ``bf(y ~ a * exp(b * x), a ~ 1 + (1 | g), b ~ 1, nl = TRUE)``. Strings with ``~`` are
    formulas; every other argument (``nl``, ``family``, ``center``, ...) keeps brms's meaning.
    """
    return RCall("bf", *_formula_args((formula, *pforms)), **kwargs)


def lf(*formulas: str | RExpr, **kwargs: Any) -> RCall:
    """``brms::lf()``: linear formulas for distributional or non-linear parameters."""
    return RCall("lf", *_formula_args(formulas), **kwargs)


def nlf(formula: str | RExpr, *more: str | RExpr, **kwargs: Any) -> RCall:
    """``brms::nlf()``: a non-linear formula for a parameter."""
    return RCall("nlf", *_formula_args((formula, *more)), **kwargs)


def set_rescor(rescor: bool = True) -> RCall:
    """``brms::set_rescor()``: residual correlations of a multivariate gaussian/student model."""
    return RCall("set_rescor", rescor)


def save_pars(**kwargs: Any) -> RCall:
    """``brms::save_pars()``, e.g. ``save_pars(all=True)`` for ``bayes_factor``."""
    return RCall("save_pars", **kwargs)


def stanvar(x: Any = None, name: str | None = None, **kwargs: Any) -> RCall:
    """``brms::stanvar()``: data (``x`` under ``name``) or Stan code (``scode``) for the model."""
    return RCall("stanvar", x, name, **kwargs)


def family(name: str, *args: Any, **kwargs: Any) -> RCall:
    """A brms family call, e.g. ``family("cumulative", "probit", threshold="equidistant")``."""
    return RCall(name, *args, **kwargs)


def custom_family(name: str, **kwargs: Any) -> RCall:
    """``brms::custom_family()``; its Stan functions go in through ``stanvars``."""
    return RCall("custom_family", name, **kwargs)


def R(code: str) -> RCode:  # noqa: N802 - reads as R's own code
    """R source text evaluated in R as written: ``pybrms.R("save_pars(all = TRUE)")``."""
    return RCode(code)
