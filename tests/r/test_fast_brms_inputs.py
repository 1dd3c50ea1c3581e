"""What the fast engine takes from brms (R, no Stan compile): the prior table with brms's
data-dependent defaults and the user's priors merged in, the design and the level indices."""

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.engines import fast
from pybrms.engines.fast import priors as fast_priors
from pybrms.errors import EngineError
from pybrms.spec.model import FitSpec

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def sleep(golden_dir):
    return pd.read_csv(golden_dir / "brms" / "sleepstudy.csv")


@pytest.fixture(scope="module")
def bern(golden_dir):
    return pd.read_csv(golden_dir / "brms" / "bern.csv")


def _r_round1(v):
    """R's round(v, 1) on these values (no ties at the second decimal here)."""
    return float(np.round(v, 1))


def test_data_dependent_defaults_are_brms(sleep):
    """brms 2.18: Intercept ~ student_t(3, median(y), mad(y)); sd, sigma ~ student_t(3, 0, mad)."""
    md = fast.brms_inputs(FitSpec.build("Reaction ~ Days + (Days | Subject)", sleep))
    y = sleep["Reaction"].to_numpy()
    med = _r_round1(np.median(y))
    mad = _r_round1(max(2.5, 1.4826 * np.median(np.abs(y - np.median(y)))))
    assert (med, mad) == (288.7, 59.3)
    t = md.prior
    assert fast_priors.resolve(t, "Intercept").args == (3.0, med, mad)
    assert fast_priors.resolve(t, "sd", "Days", "Subject").args == (3.0, 0.0, mad)
    assert fast_priors.resolve(t, "sigma").args == (3.0, 0.0, mad)
    assert fast_priors.resolve(t, "cor", group="Subject").name == "lkj_corr_cholesky"
    assert fast_priors.resolve(t, "b", coef="Days").flat
    assert md.centred and md.xnames == ("Intercept", "Days")
    (g,) = md.groups
    assert (g.group, g.coefs, g.n_levels, g.correlated) == ("Subject", ("Intercept", "Days"),
                                                            18, True)
    levels = np.asarray(g.levels)[g.index]
    assert (levels == sleep["Subject"].astype(str).to_numpy()).all()
    assert np.array_equal(g.covariates[:, 1], sleep["Days"].to_numpy(float))


def test_nested_groups_are_two_index_vectors_and_user_priors_merge(bern):
    priors = [pybrms.prior("normal(0, 2)", class_="b"),
              pybrms.prior("normal(1, 0.5)", class_="b", coef="x2"),
              pybrms.prior("exponential(1)", class_="sd", group="user:conv")]
    md = fast.brms_inputs(FitSpec.build("y ~ x1 + x2 + (1 | user/conv) + (1 | model)", bern,
                                        "bernoulli", priors))
    groups = {g.group: g for g in md.groups}
    assert set(groups) == {"user", "user:conv", "model"}
    n_conv = bern.groupby(["user", "conv"]).ngroups
    assert groups["user:conv"].n_levels == n_conv
    assert groups["user"].n_levels == bern["user"].nunique()
    lab = np.asarray(groups["user:conv"].levels)[groups["user:conv"].index]
    assert (lab == (bern["user"] + "_" + bern["conv"]).to_numpy()).all()
    assert all(g.covariates.shape == (len(bern), 1) for g in md.groups)
    t = md.prior
    assert fast_priors.resolve(t, "b", coef="x1").text == "normal(0, 2)"
    assert fast_priors.resolve(t, "b", coef="x2").text == "normal(1, 0.5)"
    assert fast_priors.resolve(t, "sd", "Intercept", "user:conv").text == "exponential(1)"
    assert fast_priors.resolve(t, "sd", "Intercept", "user").text == "student_t(3, 0, 2.5)"
    assert fast_priors.resolve(t, "Intercept").text == "student_t(3, 0, 2.5)"
    assert md.y.tolist() == bern["y"].astype(float).tolist()


def test_no_centring_without_an_intercept(sleep):
    md = fast.brms_inputs(FitSpec.build("Reaction ~ 0 + Days + (1 | Subject)", sleep))
    assert not md.centred and md.xnames == ("Days",)
    assert not (md.prior["class"] == "Intercept").any()


def test_binomial_trials(golden_dir):
    d = pd.DataFrame({"s": [1, 3, 0, 5, 2, 4], "n": [5, 5, 6, 6, 5, 6],
                      "x": [0.1, 0.5, -0.3, 1.2, 0.0, 0.7], "g": list("aabbcc")})
    md = fast.brms_inputs(FitSpec.build("s | trials(n) ~ x + (1 | g)", d, "binomial"))
    assert md.trials.tolist() == d["n"].tolist() and md.y.tolist() == d["s"].tolist()


def test_unsupported_prior_refused_before_r(sleep, monkeypatch):
    from pybrms import bridge

    def boom(*a, **k):
        raise AssertionError("R was called")

    monkeypatch.setattr(bridge, "call", boom)
    spec = FitSpec.build("Reaction ~ Days + (1 | Subject)", sleep,
                         prior=pybrms.prior("horseshoe(1)", class_="b"))
    with pytest.raises(EngineError, match="horseshoe"):
        fast.fit(spec, fast.FastOptions(chains=1, iter=20, quiet=True))


def test_brms_judges_the_model_for_the_fast_engine(sleep):
    """The fast engine's inputs come from brms's own build step, so brms's refusal (a prior on
    a coefficient the model does not have) comes back as the brms engine's SpecError."""
    from pybrms.errors import SpecError

    spec = FitSpec.build("Reaction ~ Days + (1 | Subject)", sleep,
                         prior=pybrms.prior("normal(0, 1)", class_="b", coef="Nights"))
    with pytest.raises(SpecError, match=r"(?s)brms refused the model.*Nights"):
        fast.brms_inputs(spec)
