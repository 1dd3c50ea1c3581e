"""Parse brms ``hypothesis()`` strings so malformed ones fail in Python with a clear message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError

_OPS = ("<", ">", "=")
_NAME = re.compile(r"[A-Za-z.][A-Za-z0-9._:\[\],]*")
_NUM = re.compile(r"^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$")
_SIGNED_NUM = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_FUNCTIONS = frozenset({"exp", "log", "sqrt", "abs", "inv_logit", "plogis", "qlogis"})


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis ``left op right``, as handed to ``brms::hypothesis()``.

    Attributes
    ----------
    text : str
        The hypothesis as written, e.g. ``"youngerTRUE:TOXICITY < 0"``.
    left, right : str
        The two sides, e.g. ``"youngerTRUE:TOXICITY"`` and ``"0"``.
    op : str
        ``<``, ``>`` or ``=``.
    published : bool
        True (the default) when a published table reports the hypothesis; a replication
        tests unpublished ones too but keys only the published ones to the paper's rows.

    """

    text: str
    left: str
    op: str
    right: str
    published: bool = True

    @property
    def one_sided(self) -> bool:
        """True for ``<`` and ``>`` hypotheses."""
        return self.op in ("<", ">")

    @property
    def is_simple(self) -> bool:
        """True for ``parameter op number`` or ``parameter op parameter`` (no arithmetic)."""
        return bool(_NAME.fullmatch(self.left)) and bool(
            _SIGNED_NUM.fullmatch(self.right) or _NAME.fullmatch(self.right)
        )

    @property
    def terms(self) -> list[str]:
        """Parameter names the hypothesis refers to."""
        out: list[str] = []
        for side in (self.left, self.right):
            for m in _NAME.finditer(side):
                name = m.group(0)
                if m.start() > 0 and (side[m.start() - 1].isdigit() or side[m.start() - 1] == "."):
                    continue  # the exponent of a number such as 1e6, not a parameter
                rest = side[m.end() :].lstrip()
                if name in _FUNCTIONS and rest.startswith("("):
                    continue
                if _NUM.match(name) or name in out:
                    continue
                out.append(name)
        return out


def parse_hypothesis(text: str, *, published: bool = True) -> Hypothesis:
    """Parse a brms hypothesis such as ``"x > 0"`` or ``"x - y < 0"``.

    Parameters
    ----------
    text : str
        The hypothesis.
    published : bool, default True
        Stored on the result (see :attr:`Hypothesis.published`).

    Returns
    -------
    Hypothesis

    Raises
    ------
    SpecError
        If the text has no or several comparison operators, an empty side, or unbalanced
        parentheses.

    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError("a hypothesis must be a string such as 'x > 0'")
    if "==" in text or "<=" in text or ">=" in text:
        raise SpecError(f"hypothesis {text!r}: use a single '<', '>' or '=' (not ==, <=, >=)")
    found = [(i, ch) for i, ch in enumerate(text) if ch in _OPS]
    if len(found) != 1:
        raise SpecError(
            f"hypothesis {text!r} must compare two sides with exactly one of '<', '>', '='"
        )
    i, op = found[0]
    left, right = text[:i].strip(), text[i + 1 :].strip()
    if not left or not right:
        raise SpecError(f"hypothesis {text!r} has an empty side of {op!r}")
    if text.count("(") != text.count(")"):
        raise SpecError(f"hypothesis {text!r} has unbalanced parentheses")
    return Hypothesis(text=text, left=left, op=op, right=right, published=published)


def check_terms(hyps: list[Hypothesis], available: list[str]) -> None:
    """Raise :class:`SpecError` naming any hypothesis term not among ``available`` names."""
    known = set(available)
    for h in hyps:
        missing = [t for t in h.terms if t not in known]
        if missing:
            raise SpecError(
                f"hypothesis {h.text!r} refers to unknown parameter(s) {', '.join(missing)}; "
                f"population-level parameters are: {', '.join(available)}"
            )
