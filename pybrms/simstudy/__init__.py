"""Simulation studies: several estimation methods over many simulated datasets.

``pybrms.simstudy("study.toml", out="OUT", workers=2)`` (or ``pybrms simstudy``) draws every
replicate of every condition from its own seed stream, fits it with every method on the shared
run engine (checkpoints, resume, Dask, one compile per model structure) and writes
``estimates.csv``, ``performance.csv``, figures and a summary (md/html/tex).

Modules: :mod:`.spec` (the study file), :mod:`.seeds`, :mod:`.declarative` and
:mod:`.generate` (the data), :mod:`.tasks`, :mod:`.estimates`, :mod:`.runner`, :mod:`.plan`,
:mod:`.report`, :mod:`.cli`; the statistical core: :mod:`.performance` (rsimsum's measures with
Monte Carlo SEs), :mod:`.sbc` (ranks, simultaneous ECDF bands, the uniformity test),
:mod:`.planning` (replicates for a target MCSE) and :mod:`.figures`.
"""

from __future__ import annotations

from .api import simstudy
from .spec import Method, Study, build_study, load_study, parse_study

__all__ = ["Method", "Study", "build_study", "load_study", "parse_study", "simstudy"]
