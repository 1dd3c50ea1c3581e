"""The fast engine's options (brms's names where brms has them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...errors import EngineError
from ..base import EngineOptions

NAME = "fast"


@dataclass(frozen=True)
class FastOptions(EngineOptions):
    """Options of the fast engine (brms's names where brms has them).

    Attributes
    ----------
    chains, iter, warmup, seed
        As in ``brm()``: ``iter`` counts warm-up, ``warmup`` defaults to ``iter // 2``,
        ``seed`` to a random integer recorded in the provenance.
    cores : int, optional
        Chains run at once (nutpie's threads; default ``min(chains, CPUs)``).
    target_accept : float
        Step-size adaptation target (brms's ``adapt_delta``, default 0.8).
    max_treedepth : int
        Maximum tree depth (brms's default 10).
    mass_matrix : {"diag", "low_rank"}
        nutpie's mass-matrix adaptation: diagonal (default, like Stan's) or its low-rank
        modified one (``low_rank_modified_mass_matrix``), which adapts to posterior
        correlations such as those of the slopes.
    centre : {"auto", "never"}
        Group-level blocks sampled centred (``r ~ normal(0, sd)``) rather than brms's
        non-centred ``r = sd * z``: ``"auto"`` does so for uncorrelated blocks whose every
        level has ``pybrms.engines.fast.model.CENTRED_MIN_ROWS`` (100) rows or more, where the non-centred
        form mixes slowly; ``"never"`` keeps brms's form. Same posterior either way.
    keep_ranef : bool
        Keep the group-level effects ``r_<group>`` (levels x effects per draw) in the
        InferenceData.
    diagnose : bool
        Warn about divergences, tree-depth hits, Rhat > 1.01 and low ESS after the fit.
    quiet : bool
        No progress output (warnings are still recorded and emitted).
    """

    engine: ClassVar[str] = NAME

    chains: int = 4
    iter: int = 2000  # noqa: A003 - brms's name
    warmup: int | None = None
    seed: int | None = None
    cores: int | None = None
    target_accept: float = 0.8
    max_treedepth: int = 10
    mass_matrix: str = "diag"
    centre: str = "auto"
    keep_ranef: bool = True
    diagnose: bool = True

    def validate(self) -> None:
        """Check counts, warm-up, ``target_accept`` and ``max_treedepth``."""
        super().validate()
        for key in ("chains", "iter", "max_treedepth"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise EngineError(f"engine fast: {key} must be a positive integer, got {v!r}")
        c = self.cores
        if c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 1):
            raise EngineError(f"engine fast: cores must be a positive integer, got {c!r}")
        w = self.warmup
        if w is not None and (not isinstance(w, int) or isinstance(w, bool)
                              or not 0 <= w < self.iter):
            raise EngineError(
                f"engine fast: warmup must be an integer with 0 <= warmup < iter ({self.iter}), "
                f"got {w!r}"
            )
        if self.mass_matrix not in ("diag", "low_rank"):
            raise EngineError(
                f"engine fast: mass_matrix must be 'diag' or 'low_rank', got {self.mass_matrix!r}"
            )
        if self.centre not in ("auto", "never"):
            raise EngineError(
                f"engine fast: centre must be 'auto' or 'never', got {self.centre!r}"
            )
        if not isinstance(self.target_accept, (int, float)) or not 0 < self.target_accept < 1:
            raise EngineError(
                f"engine fast: target_accept must be in (0, 1), got {self.target_accept!r}"
            )

