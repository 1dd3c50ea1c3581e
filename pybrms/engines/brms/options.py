"""The brms engine's options: ``brm()``'s arguments with brms's names and meanings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...cache import ModelCache
from ...errors import SpecError
from ..base import EngineOptions

NAME = "brms"


@dataclass(frozen=True)
class BrmsOptions(EngineOptions):
    """Options of the brms engine, with ``brm()``'s names and meanings.

    Attributes
    ----------
    chains, iter, warmup, thin, seed, cores, control, init, sample_prior, normalize
        As in ``brm()``. ``warmup`` defaults to ``iter // 2``; ``seed`` to a random integer
        recorded in the provenance. ``sample_prior`` also takes brms's logicals.
    refresh : int, optional
        Progress line every ``refresh`` iterations (default ``max(iter // 10, 1)``).
    quiet : bool
        Hide compile and sampling progress (warnings are still recorded and emitted).
    cache : ModelCache, optional
        Compiled-program cache (default :func:`pybrms.cache.get_cache`).
    diagnose : bool
        Warn about divergences, tree-depth hits, Rhat > 1.01 and low ESS after the fit.
    echo : callable, optional
        Receives the sampler's console output as it arrives (default: stderr).
    save_pars : RExpr, optional
        ``pybrms.save_pars(all=True)`` (needed by ``bayes_factor``), as ``brm()``'s.
    stanvars : dict or RExpr, optional
        Data and Stan code added to the model: ``{"prior_sd": 10}`` becomes
        ``stanvar(10, name = "prior_sd")`` (a prior ``"normal(0, prior_sd)"`` then keeps one
        compiled program for every value); or ``pybrms.stanvar(...)`` / ``pybrms.R(...)``.
    data2, knots : dict, optional
        As ``brm()``'s (values: arrays, data frames, R expressions).
    brms_args : dict
        Any other ``brm()`` argument, passed through unchanged.
    """

    engine: ClassVar[str] = NAME

    chains: int = 4
    iter: int = 2000  # noqa: A003 - brms's name
    warmup: int | None = None
    thin: int = 1
    seed: int | None = None
    cores: int = 1
    control: dict | None = None
    sample_prior: str | bool = "no"
    init: Any = None
    normalize: bool = True
    refresh: int | None = None
    cache: ModelCache | None = None
    diagnose: bool = True
    echo: Callable[[str], None] | None = None
    save_pars: Any = None
    stanvars: Any = None
    data2: dict | None = None
    knots: dict | None = None
    brms_args: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Check counts, warm-up and ``sample_prior`` before anything starts."""
        super().validate()
        for key in ("chains", "iter", "thin", "cores"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpecError(f"{key} must be a positive integer, got {value!r}")
        w = self.warmup
        if w is not None and (not isinstance(w, int) or isinstance(w, bool)
                              or not 0 <= w < self.iter):
            raise SpecError(
                f"warmup must be an integer with 0 <= warmup < iter ({self.iter}), got {w!r}"
            )
        if self.sample_prior not in ("no", "yes", "only", True, False):
            raise SpecError(
                f"sample_prior must be 'no', 'yes', 'only', True or False, got {self.sample_prior!r}"
            )

