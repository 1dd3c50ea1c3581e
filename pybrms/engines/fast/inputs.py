"""brms prepares the fast engine's model: its prior table and Stan data, with no compile."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import bridge
from ...spec.model import FitSpec
from ..brms.build import build, coefficient_names
from . import model
from .check import check


def brms_inputs(spec: FitSpec) -> model.ModelData:
    """Ask brms (through the bridge; no Stan compile) for the prior table and Stan data.

    brms builds the model first (:func:`pybrms.engines.brms.build.build`, ``brm(..., empty =
    TRUE)``), so a model brms refuses fails here as it would for the brms engine.

    Returns
    -------
    ModelData

    Raises
    ------
    SpecError
        With brms's message, when brms refuses the model.
    """
    fam = spec.family
    out = bridge.call("pybrms_fast_inputs", build(spec, {}))
    parts = dict(zip(out.names, out, strict=True))
    sd_r = parts["standata"]
    standata: dict[str, Any] = {}
    for key, value in zip(sd_r.names, sd_r, strict=True):
        if key == "X":
            standata[key] = bridge.r_matrix(value)
        elif key == "X_colnames":
            standata[key] = bridge.to_py_list(value)
        else:
            v = bridge.to_py(value)
            standata[key] = np.asarray(v) if isinstance(v, list) else v
    ranef = bridge.to_pandas(parts["ranef"])
    levels = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
              for k, v in (bridge.to_py(parts["levels"]) or {}).items()}
    prior = bridge.to_pandas(parts["prior"])
    return model.from_standata(standata, ranef, levels, prior, fam)



def preflight(spec: FitSpec, opts: object = None) -> list[str]:
    """:func:`~.check.check`, then brms's build step and Stan's parser (no compile), as the
    fit's first step runs them; the population-level coefficient names (brms's).
    """
    check(spec)
    return coefficient_names(build(spec, {}))
