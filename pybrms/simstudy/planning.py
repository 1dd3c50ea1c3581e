"""How many replicates a simulation study needs for a target Monte Carlo SE.

Morris, White & Crowther (2019), "Using simulation studies to evaluate statistical methods",
Statistics in Medicine 38:2074-2102, Section 5.3: invert a measure's MCSE formula (their
Table 6, rsimsum's ``.performance``) for the number of replicates ``n``. For coverage 95% and
a target MCSE of 0.5% this gives ``0.95 x 0.05 / 0.005^2 = 1900`` (their example); the worst
case for any proportion is p = 0.5.
"""

from __future__ import annotations

import math

from pybrms.errors import SpecError

#: friendly names -> rsimsum measure names
ALIASES: dict[str, str] = {
    "bias": "bias",
    "rbias": "rbias", "relative_bias": "rbias", "relbias": "rbias",
    "empse": "empse", "empirical_se": "empse", "empirical_standard_error": "empse",
    "mse": "mse", "mean_squared_error": "mse",
    "rmse": "rmse",
    "modelse": "modelse", "model_se": "modelse", "model_based_se": "modelse",
    "relerror": "relerror", "relative_error": "relerror",
    "cover": "cover", "coverage": "cover",
    "becover": "becover", "bias_eliminated_coverage": "becover", "be_coverage": "becover",
    "power": "power", "rejection_rate": "power",
}
#: measures whose MCSE is a binomial proportion's
PROPORTIONS = ("cover", "becover", "power")


def parse_target(text: str) -> tuple[str, float]:
    """Parse ``"MEASURE=MCSE"``, e.g. ``"coverage=0.005"`` -> ``("cover", 0.005)``.

    Parameters
    ----------
    text : str
        A measure name (rsimsum's, or an alias in :data:`ALIASES`; case, spaces and hyphens
        are ignored) and a positive target MCSE, joined by ``=``.

    Returns
    -------
    (str, float)
        rsimsum's measure name and the target MCSE.

    Raises
    ------
    SpecError
        For text without ``=``, an unknown measure or a target that is not a positive number.

    """
    name, sep, value = str(text).partition("=")
    if not sep:
        raise SpecError(f"a target reads MEASURE=MCSE (e.g. coverage=0.005), not {text!r}")
    measure = canonical_measure(name)
    try:
        mcse = float(value)
    except ValueError:
        raise SpecError(f"the target MCSE in {text!r} is not a number") from None
    if not (math.isfinite(mcse) and mcse > 0):
        raise SpecError(f"the target MCSE in {text!r} must be a positive number")
    return measure, mcse


def canonical_measure(name: str) -> str:
    """Return rsimsum's name of a measure given it or an alias.

    Parameters
    ----------
    name : str
        E.g. ``"coverage"``, ``"Relative-Bias"``, ``"cover"``.

    Returns
    -------
    str
        One of rsimsum's names (``cover``, ``rbias``...) or ``rmse``.

    Raises
    ------
    SpecError
        For an unknown name.

    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in ALIASES:
        known = ", ".join(sorted(set(ALIASES)))
        raise SpecError(f"unknown performance measure {name.strip()!r}; use one of {known}")
    return ALIASES[key]


def _round_up(x: float) -> int:
    """Round up, taking values within 1e-9 (relative) of an integer as that integer.

    So floating-point noise (0.95 * (1 - 0.95) / 0.005**2 = 1900.0000000000016) gives 1900.
    """
    return max(2, math.ceil(x * (1 - 1e-9)))


def _positive(name: str, value: float | None) -> float:
    if value is None:
        raise SpecError(f"{name} is needed")
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"{name} must be a positive number, not {value}")
    return float(value)


def replicates_needed(
    measure: str,
    target_mcse: float,
    *,
    expected: float | None = None,
    level: float = 0.95,
    empse: float | None = None,
    truth: float | None = None,
    modelse: float | None = None,
    var_se2: float | None = None,
    pilot_mcse: float | None = None,
    pilot_n: int | None = None,
) -> int:
    """Replicates needed so the measure's Monte Carlo SE is at most ``target_mcse``.

    Closed forms, from the MCSE formulas of Morris et al. (2019) Table 6 / rsimsum
    (Section 5.3 of Morris et al.), with ``m`` the target MCSE:

    - ``cover``, ``becover``, ``power``: ``n = p (1 - p) / m^2`` with p = ``expected``;
      by default p = ``level`` for coverage (the nominal level) and p = 0.5 for power, the
      worst case (pass ``expected=0.5`` for the worst case of coverage too);
    - ``bias``: ``n = empse^2 / m^2`` (needs ``empse``, e.g. from a pilot);
    - ``rbias``: ``n = (empse / truth)^2 / m^2`` (needs ``empse`` and a non-zero ``truth``);
    - ``empse``: from ``MCSE = empse / sqrt(2 (n - 1))``, ``n = 1 + empse^2 / (2 m^2)``;
    - ``modelse``: from ``MCSE = sqrt(var(se^2) / (4 n modelse^2))``,
      ``n = var_se2 / (4 modelse^2 m^2)`` (needs ``modelse`` and ``var_se2`` = var(se^2));
    - ``mse``, ``rmse``, ``relerror``: no closed form in design quantities; give a pilot.

    From a pilot (any measure; used when ``pilot_mcse`` is given): every MCSE scales as
    ``1 / sqrt(n)``, so ``n = pilot_n (pilot_mcse / m)^2``; for ``empse`` (``1 / sqrt(n -
    1)``) ``n = 1 + (pilot_n - 1) (pilot_mcse / m)^2``. For ``relerror`` the scaling is
    approximate (its MCSE mixes 1/n and 1/(n-1) terms).

    Parameters
    ----------
    measure : str
        rsimsum's name or an alias (see :func:`parse_target`).
    target_mcse : float
        The Monte Carlo SE wanted, in the measure's units (a proportion for coverage, e.g.
        0.005; percent for ``relerror``).
    expected : float, optional
        Anticipated proportion for ``cover``/``becover``/``power``.
    level : float
        Nominal coverage, the default ``expected`` of ``cover`` and ``becover``.
    empse : float, optional
        Anticipated empirical SE of the estimates.
    truth : float, optional
        The true value (``rbias``).
    modelse : float, optional
        Anticipated root mean squared model SE (``modelse``).
    var_se2 : float, optional
        Anticipated variance of the squared model SEs (``modelse``).
    pilot_mcse : float, optional
        The measure's MCSE in a pilot study.
    pilot_n : int, optional
        The pilot's number of replicates.

    Returns
    -------
    int
        The number of replicates, rounded up (at least 2).

    Raises
    ------
    SpecError
        For an unknown measure, a non-positive target, a missing input the measure needs
        (the message names it), or a pilot given together with closed-form inputs.

    """
    measure = canonical_measure(measure)
    m = _positive("target_mcse", target_mcse)
    if pilot_mcse is not None:
        return _from_pilot(measure, m, pilot_mcse, pilot_n,
                           expected=expected, empse=empse, modelse=modelse, var_se2=var_se2)
    if measure in PROPORTIONS:
        p = expected if expected is not None else (0.5 if measure == "power" else level)
        if not 0 < p < 1:
            raise SpecError(f"the expected {measure} must lie in (0, 1), not {p}")
        return _round_up(p * (1 - p) / m**2)
    if measure == "bias":
        return _round_up(_positive("empse (the anticipated empirical SE)", empse) ** 2 / m**2)
    if measure == "rbias":
        e = _positive("empse (the anticipated empirical SE)", empse)
        if truth is None or truth == 0 or not math.isfinite(truth):
            raise SpecError("rbias needs a finite, non-zero truth")
        return _round_up((e / truth) ** 2 / m**2)
    if measure == "empse":
        e = _positive("empse (the anticipated empirical SE)", empse)
        return _round_up(1 + e**2 / (2 * m**2))
    if measure == "modelse" and (modelse is not None or var_se2 is not None):
        ms = _positive("modelse", modelse)
        return _round_up(_positive("var_se2", var_se2) / (4 * ms**2 * m**2))
    raise SpecError(
        f"{measure} has no closed form here: give pilot_mcse and pilot_n from a pilot study"
        + (" (or modelse and var_se2)" if measure == "modelse" else "")
    )


def _from_pilot(measure: str, m: float, pilot_mcse: float, pilot_n: int | None,
                **closed_form: float | None) -> int:
    """Replicates from a pilot's MCSE, scaling by 1/sqrt(n) (1/sqrt(n - 1) for empse)."""
    given = [k for k, v in closed_form.items() if v is not None]
    if given:
        raise SpecError(f"give either a pilot (pilot_mcse, pilot_n) or {given}, not both")
    pm = _positive("pilot_mcse", pilot_mcse)
    if pilot_n is None or int(pilot_n) != pilot_n or pilot_n < 2:
        raise SpecError(f"pilot_n must be an integer of at least 2, not {pilot_n}")
    ratio = (pm / m) ** 2
    if measure == "empse":
        return _round_up(1 + (pilot_n - 1) * ratio)
    return _round_up(pilot_n * ratio)
