"""Fit one model with one engine and reduce the fit to a JSON record: what every run keeps.

A record holds, for every engine: the tidy rows (population- and group-level, the shared
schema), whether the fit converged (for a sampler: the engine's own criteria and Rhat <= 1.01
with no divergence) and was singular, its warnings (each once, in the engine's words) and its
provenance; a sampler's record adds the convergence diagnostics, a compiling engine's the Stan
program and whether this fit compiled it. Callers add what their command reports
(hypotheses, LOO, power-scaling, estimands) from the fit, which :func:`fit_record` returns
beside the record.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engines import get_engine
from ..engines import prepare as engine_prepare
from ..jsonio import clean
from ..spec.model import FitSpec


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain dicts with Python scalars."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def sampler_diagnostics(fit: Any, keep_names: int = 20) -> dict[str, Any]:
    """A sampler fit's diagnostics with the smallest bulk/tail ESS and the parameter count.

    A full-scale fit has ~10,000 parameters: the lists of parameters with high Rhat or low
    ESS keep their counts (``n_high_rhat``, ``n_low_ess``) and their first ``keep_names``
    names only.
    """
    d = fit.diagnostics()
    s = fit.summary()
    s = s[s["variable"] != "lp__"]
    for key in ("high_rhat", "low_ess"):
        d[f"n_{key}"] = len(d[key])
        d[key] = d[key][:keep_names]
    d["ess_bulk_min"] = float(np.nanmin(s["ess_bulk"]))
    d["ess_tail_min"] = float(np.nanmin(s["ess_tail"]))
    d["n_parameters"] = int(len(s))
    return d


def with_stanvars(engine: str, options: Mapping[str, Any], stanvars: Mapping[str, float]
                  ) -> dict[str, Any]:
    """``options`` with the priors' constants as data (``stanvars``: data names -> numbers)
    merged into ``options["stanvars"]`` when ``engine`` compiles a program; other engines
    take the constants written in the priors and get the options as they are.
    """
    out = dict(options)
    if stanvars and get_engine(engine).capabilities.compiles:
        out["stanvars"] = {**dict(out.get("stanvars") or {}), **stanvars}
    return out


@dataclass
class FitRequest:
    """One fit, as a task carries it (picklable).

    Attributes
    ----------
    engine : str
        Engine name.
    formula, family : str
        The model.
    data : DataFrame
        The rows it fits.
    priors : list
        Priors (for engines that use them).
    options : dict
        Engine options (unknown names for the engine are dropped, so one request can name
        options several engines take).
    conf_level : float
        Interval level of the tidy rows.
    stanvars : dict
        Data names -> numbers: the priors' constants as data (brms ``stanvar()``), for an
        engine that compiles (:func:`with_stanvars`).
    """

    engine: str
    formula: str
    family: str
    data: pd.DataFrame
    priors: list = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    conf_level: float = 0.95
    stanvars: dict[str, float] = field(default_factory=dict)

    def spec(self) -> FitSpec:
        """The validated model (priors only for engines that take them)."""
        caps = get_engine(self.engine).capabilities
        return FitSpec.build(self.formula, self.data, self.family,
                             self.priors if caps.uses_priors else None)

    def engine_options(self, extra: Mapping[str, Any] | None = None) -> Any:
        """The engine's options object from :attr:`options` (and ``extra``), its names only."""
        engine = get_engine(self.engine)
        wanted = with_stanvars(self.engine, {**self.options, **(extra or {})}, self.stanvars)
        return engine.options.build({k: v for k, v in wanted.items()
                                     if k in engine.options.names()})


def fit_record(request: FitRequest, *, fit_path: str | Path | None = None,
               extra_options: Mapping[str, Any] | None = None,
               add: Callable[[Any, dict[str, Any]], None] | None = None
               ) -> tuple[dict[str, Any], Any]:
    """Fit ``request`` and return ``(record, fit)``.

    Parameters
    ----------
    request : FitRequest
        The model, data and options.
    fit_path : path, optional
        Where an engine that saves its own object (brms's ``.rds``) writes it, before the record
        is returned.
    extra_options : mapping, optional
        Options only this call passes (``echo``: live console, ``cores``...).
    add : callable, optional
        ``add(fit, record)`` adds the caller's own results while warnings are still recorded
        (hypotheses, LOO, power-scaling...).

    Returns
    -------
    (dict, FitResult)
        The record (``engine``, ``n_rows``, ``tidy``, ``converged``, ``singular``,
        ``warnings``, ``provenance``, ``seconds``; ``diagnostics`` for samplers;
        ``stan_program``, ``compiled`` for compiling engines) and the fit.
    """
    engine = get_engine(request.engine)
    caps = engine.capabilities
    t0 = time.perf_counter()
    spec = request.spec()
    opts = request.engine_options(extra_options)
    record: dict[str, Any] = {"engine": request.engine, "n_rows": int(len(request.data))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = engine.fit(spec, opts)
        if caps.saves_native and fit_path is not None:
            fit.save(fit_path)
        record["tidy"] = frame_records(fit.tidy(conf_level=request.conf_level))
        converged = bool(fit.converged)
        if caps.draws:
            d = record["diagnostics"] = sampler_diagnostics(fit)
            # the sampler's own criteria, whether or not the engine diagnosed the fit itself
            converged = converged and d["rhat_max"] <= 1.01 and d["divergences"] == 0
        record["converged"] = converged
        record["singular"] = bool(fit.singular)
        if caps.compiles:
            record["stan_program"] = fit.provenance["details"]["stan_program"]
            record["compiled"] = bool(fit.provenance["details"]["compiled"])
        if add is not None:
            add(fit, record)
    own = [str(w) for w in fit.warnings]
    # an engine re-emits its own warnings (e.g. Lme4Warning "lme4 (formula): message"): keep
    # each once, in the engine's words
    other = [f"{w.category.__name__}: {w.message}" for w in caught
             if not any(o in str(w.message) for o in own)]
    record["warnings"] = list(dict.fromkeys(own + other))
    # provenance may hold R objects (e.g. the stanvars expression): their text is kept
    record["provenance"] = json.loads(json.dumps(clean(fit.provenance), default=str))
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record, fit


def prepare_request(request: FitRequest) -> dict[str, Any]:
    """Compile the program ``request`` needs into the cache (or find it there): the prepare
    step of a model structure (:func:`pybrms.engines.prepare`; nothing for engines that
    compile nothing).
    """
    return engine_prepare(get_engine(request.engine), request.spec(), request.engine_options())
