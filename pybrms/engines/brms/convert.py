"""A brmsfit as an ArviZ ``InferenceData`` with brms's names and dimensions."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from .args import PredictArgs
from .held import HeldFit
from .summaries import _META

#: rstan sampler-parameter names -> ArviZ sample_stats names
_SAMPLE_STATS = {
    "accept_stat__": "acceptance_rate",
    "stepsize__": "step_size",
    "treedepth__": "tree_depth",
    "n_leapfrog__": "n_steps",
    "divergent__": "diverging",
    "energy__": "energy",
}
_INDEXED = re.compile(r"^(?P<base>.+)\[(?P<index>[^\[\]]+)\]$")

class ArvizMethods(HeldFit):
    """``to_arviz()``."""

    def to_arviz(self, log_likelihood: bool = False, posterior_predictive: bool = False,
                 prior: bool = True, seed: int | None = None, epred: bool = False) -> Any:
        """An ArviZ ``InferenceData`` with brms parameter names and chain/draw dimensions.

        Groups:

        * ``posterior``: every parameter (``lp__`` goes to sample_stats as ``lp``). Indexed
          brms names become arrays with named dimensions: the group-level effects
          ``r_<g>[level,term]`` are one variable ``r_<g>`` with dims ``(<g>, <g>__term)`` and
          brms's levels and terms as coordinates (``r_Subject.sel(Subject="308",
          Subject__term="Days")``); other indexed names (``z_1[1,2]`` kept by
          ``save_pars(all = TRUE)``, an ordinal model's thresholds ``b_Intercept[1]``) get
          dims ``<name>_dim_0, ...`` with brms's 1-based indices. With ``epred=True`` also
          ``epred``, brms's ``posterior_epred`` (a function of the parameters, as a PyMC
          Deterministic): dims ``obs``, plus ``category`` for categorical and ordinal
          families (coordinates brms's categories, ``"1"`` for its ``P(Y = 1)``) or
          ``resp`` for a multivariate model.
        * ``sample_stats``: acceptance_rate, step_size, tree_depth, n_steps, diverging,
          energy and lp.
        * ``observed_data``: ``y``, the response as brms holds it (categorical and ordinal
          responses as brms's category numbers 1, 2, ...; its name is in
          ``attrs["response"]``). A multivariate model's ``y`` has dims ``(obs, resp)``,
          ``resp`` brms's response names (``SepalLength``); ``attrs["response"]`` then lists
          the variables (``"Sepal.Length, Petal.Length"``).
        * ``prior`` (when the fit has ``sample_prior = "yes"`` draws and ``prior=True``): the
          ``prior_*`` draws with brms's names (``prior_b``, ``prior_sd_Subject``...).
        * ``log_likelihood`` (``log_likelihood=True``): ``y`` with an ``obs`` dimension,
          brms's ``log_lik`` (one value per observation; for a multivariate model the
          responses' log-likelihoods combined, as ``brms::loo`` uses them).
        * ``posterior_predictive`` (``posterior_predictive=True``): ``y``, one replicate per
          draw (``posterior_predict`` after ``set.seed(seed)`` when ``seed`` is given), with
          the dims of the observed ``y``.
        """
        import arviz as az

        d = self.draws().sort_values([".chain", ".iteration"])
        chains = sorted(d[".chain"].unique())
        n_draw = int((d[".chain"] == chains[0]).sum())

        def by_chain(values: np.ndarray) -> np.ndarray:
            return values.reshape(len(chains), n_draw, *values.shape[1:])

        params = [c for c in d.columns if c not in _META and c != "lp__"]
        prior_cols = [c for c in params if c.startswith("prior_")] if prior else []
        post_cols = [c for c in params if c not in prior_cols]
        posterior, dims, coords = _arrays(d, post_cols, by_chain)
        sp = self.sampler_params().sort_values([".chain", ".iteration"])
        stats = {
            new: by_chain(sp[old].to_numpy().astype(bool if new == "diverging" else float))
            for old, new in _SAMPLE_STATS.items()
            if old in sp.columns
        }
        stats["lp"] = by_chain(d["lp__"].to_numpy())
        info = self._response_info()
        y, resp = info["y"], info["resp"]
        groups: dict[str, Any] = {"posterior": posterior, "sample_stats": stats,
                                  "observed_data": {"y": y}}
        dims["y"] = ["obs", "resp"] if resp else ["obs"]
        coords["obs"] = np.arange(len(y))
        if resp:
            coords["resp"] = list(resp)
        if prior_cols:
            groups["prior"], pdims, pcoords = _arrays(d, prior_cols, by_chain)
            dims.update(pdims)
            coords.update(pcoords)
        if posterior_predictive:
            groups["posterior_predictive"] = {"y": by_chain(self.posterior_predict(seed=seed))}
        if epred:
            values, levels = self._epred_array()
            posterior["epred"] = by_chain(values)
            dims["epred"] = ["obs"]
            if values.ndim == 3:
                extra = "resp" if resp else "category"
                dims["epred"].append(extra)
                coords[extra] = list(levels)
        attrs = {
            "engine": "brms",
            "response": ", ".join(info["name"]) if resp else info["name"],
            **{f"version_{k}": v for k, v in self.provenance.get("versions", {}).items()},
        }
        idata = az.from_dict(**groups, coords=coords, dims=dims, attrs=attrs)
        if log_likelihood:  # one value per observation, also where y has a resp dimension
            idata.extend(az.from_dict(log_likelihood={"y": by_chain(self.log_lik())},
                                      coords={"obs": coords["obs"]}, dims={"y": ["obs"]},
                                      attrs=attrs))
        return idata

    def _epred_array(self) -> tuple[np.ndarray, list[str]]:
        """``posterior_epred`` and the names of its third dimension, if any."""
        out = bridge.call("pybrms_draws_array", self._r, "posterior_epred",
                          PredictArgs().for_r(self.ndraws))
        return bridge.r_matrix(out.rx2("values")), [
            str(v) for v in bridge.to_py_list(out.rx2("levels"))]


def _arrays(d: pd.DataFrame, columns: Sequence[str],
            by_chain: Any) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, list]]:
    """The draws columns as ArviZ variables: scalars as they are, ``base[i,j]`` names
    gathered into one array per base with named dimensions and brms's index values as
    coordinates (``r_<g>`` gets dims ``<g>``, ``<g>__term``).
    """
    out: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    coords: dict[str, list] = {}
    indexed: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for col in columns:
        m = _INDEXED.match(col)
        if m:
            indexed.setdefault(m["base"], []).append((col, tuple(m["index"].split(","))))
        else:
            out[col] = by_chain(d[col].to_numpy())
    for base, items in indexed.items():
        ndim = len(items[0][1])
        axes: list[list[str]] = [[] for _ in range(ndim)]
        for _, idx in items:
            if len(idx) != ndim:
                break
            for k, v in enumerate(idx):
                if v not in axes[k]:
                    axes[k].append(v)
        sizes = [len(a) for a in axes]
        if any(len(idx) != ndim for _, idx in items) or math.prod(sizes) != len(items) \
                or base in out:
            for col, _ in items:  # not a full grid: keep brms's flat names
                out[col] = by_chain(d[col].to_numpy())
            continue
        first = by_chain(d[items[0][0]].to_numpy())
        arr = np.empty(first.shape + tuple(sizes), dtype=float)
        for col, idx in items:
            pos = tuple(axes[k].index(v) for k, v in enumerate(idx))
            arr[(slice(None), slice(None), *pos)] = by_chain(d[col].to_numpy())
        if base.startswith("r_") and ndim == 2:
            group = base[2:]
            names = [group, f"{group}__term"]
        else:
            names = [f"{base}_dim_{k}" for k in range(ndim)]
        out[base] = arr
        dims[base] = names
        for name, values in zip(names, axes, strict=True):
            coords[name] = ([int(v) for v in values] if all(v.isdigit() for v in values)
                            and not base.startswith("r_") else list(values))
    return out, dims, coords
