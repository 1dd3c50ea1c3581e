"""The engine contract: :class:`Engine`, :class:`Capabilities` and :class:`EngineOptions`.

An engine turns a :class:`~pybrms.spec.model.FitSpec` into a
:class:`~pybrms.results.FitResult`::

    engine.check(spec)                  # EngineError naming the term it cannot express
    result = engine.fit(spec, options)  # options: the engine's own EngineOptions dataclass

Callers choose engines by what they can do (``engine.capabilities.bayesian``), never by name.
Options are small frozen dataclasses, one per engine, with one spelling across engines
(``reml``, ``quiet``, ``seed``...). The options several engines share (:data:`COMMON_OPTIONS`)
reach every chosen engine that declares them; :meth:`EngineOptions.build` refuses any option
the engine does not know, naming it and the ones it does.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from ..errors import EngineError
from ..results import FitResult
from ..spec.coefficients import coefficient_names
from ..spec.model import FitSpec

#: options that mean the same for every engine that takes them (``pybrms.fit`` routes them)
COMMON_OPTIONS: tuple[str, ...] = ("prior", "seed", "chains", "iter", "warmup", "quiet")


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; callers ask these, never the engine's name.

    Attributes
    ----------
    bayesian : bool
        Summarises a posterior: ``post_prob``, credible intervals, draws.
    frequentist : bool
        Point estimates with standard errors, Wald intervals and p-values.
    exact : bool
        Reproduces its reference implementation exactly (brms draws bit for bit; lme4's
        own estimates).
    hypotheses : bool
        Has brms's ``hypothesis()`` (evidence ratios from draws).
    draws : bool
        Exposes posterior draws (``.draws()``, ``.to_arviz()``).
    loo : bool
        Has PSIS-LOO (``.loo()``).
    sampler : bool
        Runs MCMC chains (``chains``/``iter``/``warmup`` apply; progress per chain).
    compiles : bool
        Compiles a program per model structure (the compile cache applies).
    saves_native : bool
        ``.save(path)`` writes the engine's own object (e.g. a brmsfit ``.rds``).
    uses_priors : bool
        Takes user priors.
    """

    bayesian: bool = False
    frequentist: bool = False
    exact: bool = False
    hypotheses: bool = False
    draws: bool = False
    loo: bool = False
    sampler: bool = False
    compiles: bool = False
    saves_native: bool = False
    uses_priors: bool = False


OptionsT = TypeVar("OptionsT", bound="EngineOptions")


@dataclass(frozen=True)
class EngineOptions:
    """Base of every engine's options dataclass.

    Subclasses add fields; :meth:`build` validates a mapping of them, and :meth:`validate`
    (override) checks values, raising :class:`~pybrms.errors.EngineError`.
    """

    #: the engine these options belong to (set by each subclass)
    engine: ClassVar[str] = ""

    #: one meaning for every engine: print no progress (compile, chains, console output).
    #: Warnings are never hidden by it: they stay on ``.warnings``, in the provenance, and are
    #: emitted as :class:`~pybrms.errors.EngineWarning` subclasses (filter those to silence).
    quiet: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names this engine takes."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def build(cls: type[OptionsT], values: Mapping[str, Any] | None = None) -> OptionsT:
        """Make options from a mapping, refusing unknown names.

        Raises
        ------
        EngineError
            Naming an unknown option and listing the engine's options.
        """
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise EngineError(
                f"engine {cls.engine} has no option(s) {', '.join(map(repr, unknown))}; "
                f"its options are: {', '.join(cls.names())}"
            )
        out = cls(**values)
        out.validate()
        return out

    def validate(self) -> None:
        """Check option values (subclasses extend)."""
        if not isinstance(self.quiet, bool):
            raise EngineError(f"engine {self.engine}: quiet must be True or False")

    def record(self) -> dict[str, Any]:
        """The options as JSON-friendly values, for the provenance."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v if isinstance(v, (str, int, float, bool, type(None), list, dict)) \
                else repr(v)
        return out


@runtime_checkable
class Engine(Protocol):
    """What every engine module provides.

    Attributes
    ----------
    name : str
        Registry name (``brms``, ``lme4``, ``statsmodels``).
    capabilities : Capabilities
        What it can do.
    options : type of EngineOptions
        Its options dataclass.
    """

    name: str
    capabilities: Capabilities
    options: type[EngineOptions]

    def check(self, spec: FitSpec) -> None:
        """Raise :class:`~pybrms.errors.EngineError` if the engine cannot fit ``spec``."""

    def fit(self, spec: FitSpec, options: EngineOptions | None = None) -> FitResult:
        """Fit ``spec``; return a :class:`~pybrms.results.FitResult`."""

    # optional: ``prepare(spec, options)`` (compile once per structure, see :func:`prepare`)
    # and ``preflight(spec, options)`` (check without fitting, see :func:`preflight`)


def prepare(engine: Engine, spec: FitSpec, options: EngineOptions | None = None
            ) -> dict[str, Any]:
    """Make ready what fitting ``spec`` needs before any fit (an engine with the capability
    ``compiles`` compiles its program into the cache here, once per model structure).

    Engines that compile nothing need no ``prepare``: the result then says nothing was done.

    Returns
    -------
    dict
        ``key`` (the program key, or None), ``compiled`` and ``seconds``.
    """
    step = getattr(engine, "prepare", None)
    if step is None:
        return {"key": None, "compiled": False, "seconds": 0.0}
    return step(spec, options)


def preflight(engine: Engine, spec: FitSpec, options: EngineOptions | None = None
              ) -> list[str] | None:
    """Everything an engine can check about fitting ``spec`` without fitting it, and the
    population-level coefficient names the fit will report.

    An engine may define ``preflight(spec, options)``: brms runs its build step and Stan's
    parser (no compile) and reads the names from the built model; lme4 and statsmodels name
    the coefficients of the formula on the data (:mod:`pybrms.spec.coefficients`). Without
    one, only ``check(spec)`` runs and no names are known.

    Returns
    -------
    list of str or None
        brms's names of the population-level coefficients (``Intercept``, ``periodP2``), as
        the fit's tidy rows will name them; None when the engine cannot tell before fitting.

    Raises
    ------
    SpecError, DataError, EngineError
        What the engine refuses.
    """
    step = getattr(engine, "preflight", None)
    if step is None:
        engine.check(spec)
        return None
    return step(spec, options)


def draw_seed(seed: int | None) -> int:
    """``seed``, or a random one when it is None (the fit records it, so it can be re-run)."""
    return int(seed) if seed is not None else random.SystemRandom().randrange(1, 2**31 - 1)


def named_in_python(spec: FitSpec) -> list[str] | None:
    """The population-level coefficients a frequentist engine will report for ``spec``, named
    in Python from the formula and the data's levels as R's ``model.matrix`` names them
    (:mod:`pybrms.spec.coefficients`); None without data or for a formula with function calls.
    """
    if spec.data is None or not len(spec.data.columns):
        return None
    return coefficient_names(spec.formula, spec.data)
