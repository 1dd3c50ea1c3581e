"""Stan's own parser on the program brms wrote: a malformed prior refused in milliseconds.

brms writes a prior string into the Stan program as it is (``nromal(0, 1)`` becomes
``lprior += nromal_lpdf(b | 0, 1);``), so a misspelt distribution, a missing argument, an
unknown name or a distribution that does not fit its parameter (``lkj(2)`` on class ``b``)
passes brms's build step and would be refused only by the C++ compile, as a parser dump.
rstan's ``stanc()`` parses the same program without compiling (about 60 ms for a typical
brms model through rpy2), so the build step runs it (:func:`pybrms.engines.brms.build.build`)
and turns Stan's message into a :class:`~pybrms.errors.SpecError` that names the prior and
Stan's reason in one line.

Identical code parses identically: results are kept per process by the SHA-256 of the code,
so a run that builds one program many times parses it once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ... import bridge
from ...spec.priors import _CALL, Prior

#: Stan code SHA-256 -> None (parsed) or the refusal; one process's parses
_PARSED: dict[str, StanRefusal | None] = {}
_WHERE = re.compile(r"error in '[^']*' at line (\d+), column (\d+)")
_EXCERPT_LINE = re.compile(r"^\s*(\d+):\s?(.*)$")


@dataclass(frozen=True)
class StanRefusal:
    """Why Stan's parser refused a program.

    Attributes
    ----------
    reason : str
        Stan's message in one line (``No matches for: nromal_lpdf(vector, int, int);
        Function nromal_lpdf not found.``).
    line : int or None
        The program line Stan points at.
    code : str
        That line's code, stripped (``lprior += nromal_lpdf(b | 0, 1);``).
    """

    reason: str
    line: int | None = None
    code: str = ""


def parse_program(code: str) -> StanRefusal | None:
    """Parse ``code`` with rstan's ``stanc()`` (no C++); None when Stan accepts it.

    Results are cached in this process by the code's SHA-256.
    """
    key = hashlib.sha256(code.encode("utf-8")).hexdigest()
    if key in _PARSED:
        return _PARSED[key]
    out = bridge.to_py(bridge.call("pybrms_stanc", code))
    refusal = None if bool(out["ok"]) else read_refusal(str(out["message"]), code)
    _PARSED[key] = refusal
    return refusal


def read_refusal(message: str, code: str = "") -> StanRefusal:
    """Stan's parser output (rstan 2.21's stanc) reduced to its reason and line.

    The output is a header, Stan's reason (one or several lines), ``error in '...' at line N,
    column C``, an excerpt of the program between dashed lines, sometimes ``PARSER EXPECTED:
    <what>``, and rstan's closing "failed to parse" sentence; only the reason, what the parser
    expected and the line are kept.
    """
    lines = [ln.rstrip() for ln in message.splitlines()]
    reason: list[str] = []
    line_no: int | None = None
    column: int | None = None
    in_excerpt = False
    for ln in lines:
        text = ln.strip()
        if not text or text.startswith("SYNTAX ERROR") or text.startswith("SEMANTIC ERROR"):
            continue
        if text.startswith("failed to parse Stan model"):
            continue
        if set(text) == {"-"}:
            in_excerpt = not in_excerpt
            continue
        if in_excerpt:
            continue
        m = _WHERE.search(text)
        if m:
            line_no, column = int(m.group(1)), int(m.group(2))
            continue
        if text.startswith("PARSER EXPECTED:"):
            what = text.split(":", 1)[1].strip()
            reason.append(f"the parser expected {what}"
                          + (f" at column {column}" if column is not None else ""))
            continue
        reason.append(text)
    joined = ""
    for part in reason:  # "No matches for:" + "nromal_lpdf(...)" read as one sentence
        if not joined:
            joined = part
        elif joined.endswith(":"):
            joined += " " + part
        else:
            joined += "; " + part
    program = code.splitlines()
    text = program[line_no - 1].strip() if line_no and 0 < line_no <= len(program) else ""
    return StanRefusal(reason=joined or "Stan's parser refused the program", line=line_no,
                       code=text)


def _squash(text: str) -> str:
    return "".join(text.split())


def culprits(refusal: StanRefusal, priors: Sequence[object]) -> list[Prior]:
    """The user's priors that wrote the line Stan refused (empty when none can be told).

    brms writes ``prior(<args>)`` on a parameter as ``<dist>..._lpdf(<parameter> | <args>)``
    (``lkj`` as ``lkj_corr_cholesky``): a prior matches when its distribution name starts a
    function of the line and its arguments end the call; among several, those whose class
    names the parameter are kept.
    """
    line = _squash(refusal.code)
    if not line:
        return []
    found = []
    for p in priors:
        if not isinstance(p, Prior):
            continue
        m = _CALL.match(p.prior)
        if not m:
            continue
        name, args = m.group(1), _squash(m.group(2))
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}_", line) and (
                f"|{args})" in line or (not args and f"{name}_" in line)):
            found.append(p)
    if len(found) > 1:
        narrowed = [p for p in found if re.search(rf"\({re.escape(p.class_)}(?![A-Za-z])", line)]
        found = narrowed or found
    return found


def describe(refusal: StanRefusal, priors: Sequence[object]) -> str:
    """One paragraph for a :class:`~pybrms.errors.SpecError`: the prior(s) at fault (or the
    program), Stan's reason, and the line brms wrote.
    """
    bad = culprits(refusal, priors)
    where = f"line {refusal.line}: {refusal.code}" if refusal.line else ""
    if bad:
        named = ", ".join(f"{p.prior!r} (class {p.class_}"
                          + "".join(f", {k} {getattr(p, k)}" for k in
                                    ("coef", "group", "resp", "dpar", "nlpar") if getattr(p, k))
                          + ")" for p in bad)
        head = f"Stan's parser refuses the prior {named}: {refusal.reason}"
    else:
        head = f"Stan's parser refuses the program brms wrote: {refusal.reason}"
    return head + (f" [brms wrote {where}]" if where else "")
