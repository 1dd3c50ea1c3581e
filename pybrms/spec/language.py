"""brms's model language beyond one formula: ``bf()``, ``lf()``, ``nlf()``, ``mvbind()``, ``+``.

Python reads such a formula only as far as it can know things exactly: which formulas it
holds (each read by :func:`pybrms.spec.formula.parse_formula` where it is a plain formula),
which names in it could be data columns, which columns are modelled as missing (``mi()``),
and whether it names its own family. What the formula *means* (is ``a`` a non-linear
parameter? is ``foo`` a distributional parameter?) is brms's to judge, in its build step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError
from .rcode import check_balanced, scan

_NAME = r"[A-Za-z.][A-Za-z0-9._]*"
_CALL_HEAD = re.compile(rf"^\s*({_NAME})\s*\(")
#: names of brms functions whose unnamed formula arguments are the model's formulas
FORMULA_FUNCTIONS = frozenset({"bf", "brmsformula", "lf", "nlf", "mvbf", "mvbrmsformula"})


@dataclass(frozen=True)
class Language:
    """What Python reads of a formula written in brms's model language.

    Attributes
    ----------
    formulas : tuple of str
        Every formula in the expression, in order (the first is the main one).
    named : dict
        Named arguments of the outermost ``bf()`` as R code (``nl``, ``family``...).
    calls : tuple of str
        The functions combined, e.g. ``("bf", "lf", "set_rescor")``.
    """

    formulas: tuple[str, ...]
    named: dict
    calls: tuple[str, ...]

    @property
    def nonlinear(self) -> bool:
        """True when ``nl = TRUE`` is given."""
        return self.named.get("nl", "").replace(" ", "") in ("TRUE", "T")

    @property
    def has_family(self) -> bool:
        """True when the formula names its own family (``bf(..., family = ...)``)."""
        return "family" in self.named


def split_top(text: str, sep: str) -> list[str]:
    """Split R code on ``sep`` outside brackets and quotes."""
    parts: list[str] = []
    start = skip_to = 0
    for i, _, depth in scan(text):
        if i >= skip_to and depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = skip_to = i + len(sep)
    parts.append(text[start:])
    return parts


def _call(text: str) -> tuple[str, str] | None:
    """``("bf", "args")`` when ``text`` is one call ``bf(args)``, else None."""
    m = _CALL_HEAD.match(text)
    if not m:
        return None
    rest = text[m.end():]
    depth, quote = 1, None
    for i, ch in enumerate(rest):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return (m.group(1), rest[:i]) if not rest[i + 1:].strip() else None
    return None


def _named(arg: str) -> tuple[str, str] | None:
    m = re.match(rf"^\s*({_NAME})\s*=(?!=)(.*)$", arg, flags=re.S)
    return (m.group(1), m.group(2).strip()) if m else None


def is_language(text: str) -> bool:
    """True when ``text`` is more than one plain formula: a call such as ``bf(...)``, a sum
    of calls, or a formula with ``mvbind()`` responses.
    """
    stripped = text.strip()
    sides = split_top(stripped, "~")
    if len(sides) == 1:  # no formula at the top: bf(...) + lf(...) + set_rescor(...)
        return any(_call(piece.strip()) is not None for piece in split_top(stripped, "+"))
    return len(sides) == 2 and bool(re.match(r"^\s*mvbind\s*\(", sides[0]))


def read_language(text: str) -> Language:
    """Read the formulas and ``bf()``'s named arguments out of brms formula code.

    Raises
    ------
    SpecError
        If brackets or quotes do not balance, or no formula is found.
    """
    check_balanced(text)
    formulas: list[str] = []
    named: dict[str, str] = {}
    calls: list[str] = []
    for piece in split_top(text.strip(), "+"):
        piece = piece.strip()
        call = _call(piece)
        if call is None:
            if "~" in piece:
                formulas.append(piece)
                continue
            raise SpecError(f"cannot read {piece!r} in formula {text!r}: expected a formula "
                            "or a call such as bf(...), lf(...), set_rescor(...)")
        fn, args = call
        calls.append(fn)
        for arg in split_top(args, ","):
            if not arg.strip():
                continue
            kv = _named(arg)
            if kv is not None:
                if fn in ("bf", "brmsformula") and kv[0] not in named:
                    named[kv[0]] = kv[1]
                if kv[0] in ("formula", "flist") and "~" in kv[1]:
                    formulas.append(kv[1])
                continue
            if fn in FORMULA_FUNCTIONS and "~" in arg:
                formulas.append(arg.strip())
    if not formulas:
        raise SpecError(f"formula {text!r} holds no formula (nothing with '~')")
    return Language(formulas=tuple(formulas), named=named, calls=tuple(calls))


def mi_columns(text: str) -> set[str]:
    """Columns whose missing values the formula models: ``mi(x)`` terms and ``y | mi()``."""
    out = {m.group(1).strip("`") for m in
           re.finditer(rf"(?<![A-Za-z0-9._])mi\s*\(\s*(`[^`]+`|{_NAME})", text)}
    for m in re.finditer(rf"(`[^`]+`|{_NAME})\s*\|[^~]*?(?<![A-Za-z0-9._])mi\s*\(\s*\)", text):
        out.add(m.group(1).strip("`"))
    return out
