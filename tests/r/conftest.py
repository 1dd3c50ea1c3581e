"""Helpers shared by the R-tier engine tests."""

import pandas as pd


def lme4_golden(golden_dir, name):
    """A golden CSV from tests/golden/lme4/make_golden.R: (fixed effects by brms term, VC estimates)."""
    g = pd.read_csv(golden_dir / "lme4" / name)
    fe = g[g.kind == "fixef"].copy()
    fe["term"] = fe["term"].replace("(Intercept)", "Intercept")
    return fe.set_index("term"), g[g.kind == "vc"].set_index("term")["estimate"]
