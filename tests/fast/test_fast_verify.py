"""pybrms.verify on synthetic draws: agreement within MC error, and each way to disagree."""

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.errors import PybrmsError


class _Fit:
    def __init__(self, post, engine):
        self.posterior = post
        self.engine = engine


class _DrawsFit:
    """A fit exposing brms-style draws() (as BrmsFit does)."""

    def __init__(self, post, engine):
        self.engine = engine
        n_chain, n_draw = next(iter(post.values())).shape
        self._d = pd.DataFrame({k: v.reshape(-1) for k, v in post.items() if v.ndim == 2})
        self._d[".chain"] = np.repeat(np.arange(1, n_chain + 1), n_draw)
        self._d[".iteration"] = np.tile(np.arange(1, n_draw + 1), n_chain)

    def draws(self):
        return self._d


def _post(seed, shift=0.0, scale=1.0, n=(4, 1000)):
    rng = np.random.default_rng(seed)
    return {"b_Intercept": 1.0 + shift + scale * rng.normal(size=n),
            "b_x": -0.5 + rng.normal(0, 0.2, n),
            "sd_g__Intercept": np.abs(rng.normal(0.6, 0.1, n)),
            "sigma": np.abs(rng.normal(2.0, 0.1, n)),
            "r_g": rng.normal(size=(*n, 3, 1))}


def test_independent_draws_of_one_posterior_agree():
    v = pybrms.verify(_Fit(_post(1), "fast"), _DrawsFit(_post(2), "brms"))
    assert v.ok and v.verdict.startswith("agree: 4 of 4")
    assert v.engines == ("fast", "brms")
    t = v.table.set_index("parameter")
    assert list(t.index) == ["b_Intercept", "b_x", "sd_g__Intercept", "sigma"]
    # iid draws: MCSE of the mean = sd / sqrt(4000)
    assert t.loc["b_x", "mcse_a"] == pytest.approx(0.2 / np.sqrt(4000), rel=0.1)
    assert (t["overlap"] > 0.9).all() and (t["z"].abs() < 3).all()
    assert "sd_ratio" in str(v) or "b_Intercept" in str(v)


def test_shifted_mean_and_wider_posterior_disagree():
    v = pybrms.verify(_Fit(_post(1, shift=0.2), "fast"), _Fit(_post(2), "brms"))
    assert not v.ok and "b_Intercept" in v.verdict
    assert v.table.set_index("parameter").loc["b_Intercept", "z"] > 3
    w = pybrms.verify(_Fit(_post(1, scale=1.5), "fast"), _Fit(_post(2), "brms"))
    row = w.table.set_index("parameter").loc["b_Intercept"]
    assert not w.ok and row["sd_ratio"] == pytest.approx(1.5, rel=0.05) and row["ok"] == False  # noqa: E712


def test_a_parameter_in_one_fit_only_is_a_different_model():
    a = _post(1)
    b = {k: v for k, v in _post(2).items() if k != "sigma"}
    v = pybrms.verify(_Fit(a, "fast"), _Fit(b, "brms"))
    assert not v.ok and "in one fit only: sigma" in v.verdict
    assert pybrms.verify(_Fit(a, "fast"), _Fit(b, "brms"), parameters=["b_x"]).ok
    with pytest.raises(PybrmsError, match="share no parameter"):
        pybrms.verify(_Fit({"b_x": a["b_x"]}, "fast"), _Fit({"sigma": a["sigma"]}, "brms"))
