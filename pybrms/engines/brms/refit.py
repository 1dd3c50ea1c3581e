"""Refitting a brmsfit on new data or sampling settings: brms's ``update(recompile = FALSE)``.

It runs on the same sampling path as a new fit (:mod:`.sampling`: seed, refresh, console,
R's warnings) and gives a fit with the same provenance layout.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from ...hashing import data_hash
from ..base import draw_seed
from . import sampling
from .held import HeldFit


class RefitMethods(HeldFit):
    """``update()``."""

    def update(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        seed: int | None = None,
        chains: int | None = None,
        iter: int | None = None,  # noqa: A002 - brms's name
        warmup: int | None = None,
        thin: int | None = None,
        cores: int | None = None,
        control: dict | None = None,
        refresh: int | None = None,
        quiet: bool = False,
        diagnose: bool = True,
        **brms_args: Any,
    ) -> RefitMethods:
        """Refit on new data or with new sampling settings, reusing the compiled program.

        brms's ``update(fit, newdata = ..., recompile = FALSE)``: nothing is compiled. The
        model (formula, family, priors) is the fit's own; to change it fit a new model
        with :func:`pybrms.brm`, which reuses a cached program whenever brms writes the same
        Stan code.

        Parameters
        ----------
        newdata : DataFrame, optional
            The new data (default: the fit's data).
        seed : int, optional
            Sampler seed (default: a random one, recorded in the provenance).
        chains, iter, warmup, thin, cores, control, refresh
            Sampling settings; unset ones keep the fit's.
        quiet, diagnose
            As in :func:`pybrms.brm`.
        **brms_args
            Other ``update()``/``brm()`` arguments that do not change the Stan program.

        Returns
        -------
        BrmsFit

        Warns
        -----
        UserWarning
            If brms would write a different Stan program for ``newdata`` (default priors
            that depend on the data): the refit keeps the fit's program and priors, as
            brms's ``update(recompile = FALSE)`` does, which is not what a fresh ``brm()``
            on ``newdata`` would fit.

        """
        model_changing = {"formula", "formula.", "family", "prior", "sample_prior", "data",
                          "stanvars", "autocor", "recompile", "backend", "fit"}
        bad = sorted(model_changing & set(brms_args))
        if bad:
            raise PybrmsError(
                f"update() reuses the compiled program and cannot change {', '.join(bad)}; "
                "fit a new model with pybrms.brm (it reuses a cached program when the Stan "
                "code is the same)")
        if newdata is not None and not isinstance(newdata, pd.DataFrame):
            raise PybrmsError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        for key, value in (("chains", chains), ("iter", iter), ("thin", thin), ("cores", cores)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise PybrmsError(f"{key} must be a positive integer, got {value!r}")
        seed = draw_seed(seed)
        old_opts = dict(self.provenance.get("options", {}))
        n_iter = iter if iter is not None else old_opts.get("iter")
        args: dict[str, Any] = {
            "seed": int(seed), "chains": chains, "iter": iter, "warmup": warmup, "thin": thin,
            "cores": cores, "control": control, "open_progress": False,
            "refresh": sampling.refresh_every(int(n_iter or 2000), quiet, refresh),
            **brms_args,
        }
        args = {k: v for k, v in args.items() if v is not None}
        if newdata is not None and bool(bridge.to_py(
                bridge.call("pybrms_update_code_changes", self._r, newdata))):
            msg = ("brms writes a different Stan program for newdata (default priors that depend "
                   "on the data); update() keeps the fitted program and its priors, as brms's "
                   "update(recompile = FALSE) does: set every prior explicitly, or fit anew with "
                   "pybrms.brm, for a fit equal to a fresh brm() on newdata")
            warnings.warn(msg, UserWarning, stacklevel=2)
        with sampling.recorded_warnings() as caught:
            rfit, seconds = sampling.run(
                "pybrms_update", self._r, newdata, args, quiet=quiet,
                cores=cores or int(old_opts.get("cores", 1)))
        prov = json.loads(json.dumps(self.provenance, default=str))
        used = {k: v for k, v in args.items() if k not in ("open_progress", "seed")}
        prov.update({
            "seed": int(seed),
            "options": {**old_opts, **json.loads(json.dumps(used, default=str))},
            "timing_seconds": {"sample": round(seconds, 3)},
            "warnings": caught,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        if newdata is not None:
            prov["data_hash"] = data_hash(newdata)
            prov["n_rows"] = int(len(newdata))
        details = dict(prov.get("details", {}))
        details.pop("diagnostics", None)
        details.update({"compiled": False, "updated_from": {
            "seed": self.provenance.get("seed"), "data_hash": self.provenance.get("data_hash")}})
        prov["details"] = details
        result = type(self)(rfit, provenance=prov)
        if diagnose:
            result.warn_diagnostics()
        return result
