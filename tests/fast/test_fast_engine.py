"""The fast engine without R: what it refuses, how it reads brms's prior table, and that its
PyMC model computes brms's densities (checked against scipy at fixed points)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pybrms
from pybrms.engines import capabilities, get_engine
from pybrms.engines.fast import draws as fast_draws
from pybrms.engines.fast import model as fast_model
from pybrms.engines.fast import priors as fast_priors
from pybrms.errors import EngineError
from pybrms.spec.families import parse_family
from pybrms.spec.model import FitSpec

fast = get_engine("fast")


def _spec(formula, family="gaussian", prior=None):
    return FitSpec.without_data(formula, family, prior)


# --------------------------------------------------------------------------- registry, check


def test_registered_by_capability_not_exact():
    caps = capabilities("fast")
    assert caps.bayesian and caps.sampler and caps.uses_priors and caps.draws
    assert not caps.exact and caps.hypotheses and not caps.loo and not caps.compiles
    assert "fast" in pybrms.engines.engines_where(bayesian=True)
    assert "fast" not in pybrms.engines.engines_where(exact=True)


@pytest.mark.parametrize("formula,family,prior,needle", [
    ("y ~ x + (1 | g)", "negbinomial", None, "family 'negbinomial'"),
    ("y ~ x + (1 | g)", "gaussian(link = 'log')", None, "link 'identity'"),
    ("y | weights(w) ~ x + (1 | g)", "gaussian", None, "weights(w)"),
    ("cbind(s, f) ~ x + (1 | g)", "binomial", None, "cbind(s, f)"),
    ("s ~ x + (1 | g)", "binomial", None, "trials(n)"),
    ("y ~ s(x) + (1 | g)", "gaussian", None, "'s(x)'"),
    ("y ~ mo(x) + (1 | g)", "gaussian", None, "'mo(x)'"),
    ("y ~ x + (1 | p | g) + (0 + x | p | g)", "gaussian", None, "(1 | p | g)"),
    ("y ~ x + (1 | gr(g, by = h))", "gaussian", None, "gr(...)"),
    ("bf(y ~ x + (1 | g), sigma ~ x)", "gaussian", None, "model language"),
    ("y ~ x + (1 | g)", "gaussian", pybrms.prior("horseshoe(1)"), "horseshoe(1)"),
    ("y ~ x + (1 | g)", "gaussian", pybrms.prior("gamma(2, 0.1)", class_="nu"), "class nu"),
    ("y ~ x + (1 | g)", "gaussian", pybrms.prior("normal(0, 1)", class_="b", dpar="sigma"),
     "dpar = 'sigma'"),
    ("y ~ x + (x | g)", "gaussian", pybrms.prior("normal(0, 1)", class_="cor"), "class cor"),
])
def test_check_refuses_naming_the_term(formula, family, prior, needle):
    with pytest.raises(EngineError) as err:
        fast.check(_spec(formula, family, prior))
    assert needle in str(err.value)


@pytest.mark.parametrize("formula,family", [
    ("y ~ x + (1 | a/b) + (1 | c)", "bernoulli"),
    ("y ~ x * z + (x | g)", "gaussian"),
    ("y ~ x + (x || g)", "lognormal"),
    ("y | trials(n) ~ x + (1 | g)", "binomial(link = 'probit')"),
    ("y ~ 0 + x + (1 | g)", "poisson"),
])
def test_check_accepts(formula, family):
    fast.check(_spec(formula, family, [pybrms.prior("normal(0, 5)"),
                                       pybrms.prior("exponential(1)", class_="sd")]))


def test_check_says_when_pymc_or_nutpie_is_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nutpie" else real(name, *a))
    with pytest.raises(EngineError, match=r"needs nutpie: pip install -c constraints.txt -e '\.\[fast\]'"):
        fast.check(_spec("y ~ x + (1 | g)"))


def test_options_refuse_unknown_and_bad_values():
    with pytest.raises(EngineError, match="no option.*'adapt_delta'"):
        fast.options.build({"adapt_delta": 0.9})
    with pytest.raises(EngineError, match="warmup"):
        fast.options.build({"iter": 100, "warmup": 100})
    with pytest.raises(EngineError, match="target_accept"):
        fast.options.build({"target_accept": 1.5})
    with pytest.raises(EngineError, match="mass_matrix"):
        fast.options.build({"mass_matrix": "dense"})
    assert fast.options.build({"mass_matrix": "low_rank"}).mass_matrix == "low_rank"


# --------------------------------------------------------------------------- prior table

#: brms 2.18's validate_prior() for y ~ x + f + (1 + x | g) + (1 | g:h), a user prior
#: normal(1, 3) on b_x, as a plain data frame (inherited rows have an empty prior)
TABLE = pd.DataFrame([
    ["", "b", "", "", "", "", "", "", "", "default"],
    ["normal(1, 3)", "b", "x", "", "", "", "", "", "", "user"],
    ["", "b", "fb", "", "", "", "", "", "", "default"],
    ["student_t(3, 5.3, 2.5)", "Intercept", "", "", "", "", "", "", "", "default"],
    ["lkj_corr_cholesky(2)", "L", "", "", "", "", "", "", "", "default"],
    ["", "L", "", "g", "", "", "", "", "", "default"],
    ["student_t(3, 0, 2.5)", "sd", "", "", "", "", "", "0", "", "default"],
    ["", "sd", "", "g", "", "", "", "", "", "default"],
    ["", "sd", "Intercept", "g", "", "", "", "", "", "default"],
    ["exponential(2)", "sd", "x", "g", "", "", "", "", "", "user"],
    ["normal(0, 1)", "sd", "", "g:h", "", "", "", "", "", "user"],
    ["", "sd", "Intercept", "g:h", "", "", "", "", "", "default"],
    ["student_t(3, 0, 2.5)", "sigma", "", "", "", "", "", "0", "", "default"],
], columns=list(fast_priors.PRIOR_COLUMNS))


def test_resolve_follows_brms_inheritance():
    t = fast_priors.prior_table(TABLE)
    assert fast_priors.resolve(t, "b", coef="fb").flat  # class-level b is flat
    assert fast_priors.resolve(t, "b", coef="x") == fast_priors.Dist(
        "normal", (1.0, 3.0), "normal(1, 3)")
    assert fast_priors.resolve(t, "Intercept").args == (3.0, 5.3, 2.5)
    assert fast_priors.resolve(t, "sd", "Intercept", "g").text == "student_t(3, 0, 2.5)"
    assert fast_priors.resolve(t, "sd", "x", "g").text == "exponential(2)"
    assert fast_priors.resolve(t, "sd", "Intercept", "g:h").text == "normal(0, 1)"
    assert fast_priors.resolve(t, "cor", group="g").args == (2.0,)
    assert fast_priors.resolve(t, "sigma").name == "student_t"
    assert fast_priors.bounds(t, "sd") == (0.0, None)


def test_prior_table_refuses_what_it_cannot_write():
    bad = pd.concat([TABLE, pd.DataFrame([["gamma(0.01, 0.01)", "shape"] + [""] * 8],
                                         columns=TABLE.columns)])
    with pytest.raises(EngineError, match="'gamma\\(0.01, 0.01\\)' on class shape"):
        fast_priors.check_table(bad)
    with pytest.raises(EngineError, match="arguments must be numbers"):
        fast_priors.parse_prior("normal(0, s)", "class b")
    fast_priors.check_table(TABLE)


@pytest.mark.parametrize("text,scipy_logpdf", [
    ("student_t(3, 5.3, 2.5)", lambda x: stats.t.logpdf(x, 3, 5.3, 2.5)),
    ("normal(0, 1e6)", lambda x: stats.norm.logpdf(x, 0, 1e6)),
    ("cauchy(0, 2)", lambda x: stats.cauchy.logpdf(x, 0, 2)),
    ("exponential(2)", lambda x: stats.expon.logpdf(x, scale=0.5)),
    ("gamma(2, 0.5)", lambda x: stats.gamma.logpdf(x, 2, scale=2.0)),
    ("double_exponential(1, 2)", lambda x: stats.laplace.logpdf(x, 1, 2)),
    ("lognormal(0.5, 1.5)", lambda x: stats.lognorm.logpdf(x, 1.5, scale=np.exp(0.5))),
])
def test_log_density_is_stans(text, scipy_logpdf):
    x = np.array([0.3, 1.7, 4.2])
    f = fast_priors.log_density(fast_priors.parse_prior(text))
    got = f(x).eval()
    assert np.allclose(got, scipy_logpdf(x), rtol=1e-7, atol=0)


# --------------------------------------------------------------------------- the model


def _toy(family="gaussian", cor=True, seed=3):
    """A ModelData by hand: y ~ 1 + x + (1 + x | g), 5 levels, brms's layout."""
    rng = np.random.default_rng(seed)
    n, levels = 40, 5
    x = rng.normal(2.0, 1.0, n)
    X = np.column_stack([np.ones(n), x])
    index = np.arange(n) % levels
    block = fast_model.GroupBlock(id=1, group="g", coefs=("Intercept", "x"), index=index,
                                  covariates=np.column_stack([np.ones(n), x]),
                                  levels=tuple("abcde"), cor=cor)
    fam = parse_family(family)
    if fam.name == "poisson":
        y = rng.poisson(3.0, n).astype(float)
    elif fam.name == "bernoulli":
        y = rng.integers(0, 2, n).astype(float)
    elif fam.name == "binomial":
        y = rng.integers(0, 6, n).astype(float)
    elif fam.name == "lognormal":
        y = np.exp(rng.normal(size=n))
    else:
        y = rng.normal(5.0, 2.0, n)
    return fast_model.ModelData(
        family=fam, y=y, X=X, xnames=("Intercept", "x"), centred=True, groups=[block],
        prior=fast_priors.prior_table(TABLE),
        trials=np.full(n, 6) if fam.name == "binomial" else None)


def _eta(md, point):
    """brms's linear predictor by hand from the free parameters."""
    x = md.X[:, 1]
    eta = point["Intercept"] + (x - x.mean()) * point["b"][0]
    g = md.groups[0]
    sd, z = point["sd_1"], point["z_1"]
    L = fast_draws.cholesky_corr_np(point["Lraw_1"], 2) if g.correlated else np.eye(2)
    r = (sd[:, None] * (L @ z)).T  # levels x effects
    return eta + r[g.index, 0] + r[g.index, 1] * x


POINT = {"Intercept": 4.2, "b": np.array([0.7]), "sd_1": np.array([1.3, 0.4]),
         "z_1": np.random.default_rng(0).normal(size=(2, 5)), "Lraw_1": np.array([0.6]),
         "sigma": 1.9}


def _loglik(model):
    """The likelihood term ``y`` as a function of a point: an observed variable, or (logit
    families, fused kernel) a Potential."""
    y = model["y"]
    if y not in model.potentials:
        return model.compile_logp(vars=[y], jacobian=False)
    import pytensor

    out = model.replace_rvs_by_values([y])[0]
    fn = pytensor.function(model.value_vars, out, on_unused_input="ignore")
    return lambda ip: fn(*[ip[v.name] for v in model.value_vars])


@pytest.mark.parametrize("family,loglik", [
    ("gaussian", lambda y, eta, md: stats.norm.logpdf(y, eta, POINT["sigma"])),
    ("lognormal", lambda y, eta, md: stats.lognorm.logpdf(y, POINT["sigma"], scale=np.exp(eta))),
    ("poisson", lambda y, eta, md: stats.poisson.logpmf(y, np.exp(eta))),
    ("bernoulli", lambda y, eta, md: stats.bernoulli.logpmf(y, 1 / (1 + np.exp(-eta)))),
    ("binomial", lambda y, eta, md: stats.binom.logpmf(y, md.trials, 1 / (1 + np.exp(-eta)))),
    ("bernoulli(link = 'probit')", lambda y, eta, md: stats.bernoulli.logpmf(
        y, stats.norm.cdf(eta))),
])
def test_likelihood_is_brms_linear_predictor(family, loglik):
    """The centred design, level indices, correlated slopes and link give brms's likelihood."""
    md = _toy(family)
    model = fast_model.build_model(md)
    f = _loglik(model)
    point = {k: v for k, v in POINT.items() if k != "sigma" or family in ("gaussian", "lognormal")}
    ip = model.initial_point()
    for name, val in point.items():
        key = next(k for k in ip if k == name or k.startswith(f"{name}_"))
        ip[key] = np.log(val) if key.endswith("_log__") else np.asarray(val, float)
    want = loglik(md.y, _eta(md, point), md).sum()
    assert float(f(ip)) == pytest.approx(want, rel=1e-7)


def test_priors_enter_as_brms_target():
    """The Potentials are brms's lprior: Intercept, b (flat), sd per coefficient, LKJ."""
    md = _toy("gaussian")
    model = fast_model.build_model(md)
    pots = {p.name: p for p in model.potentials}
    ip = model.initial_point()
    ip.update({"Intercept": np.asarray(4.2), "b": np.array([0.7]),
               "sd_1_log__": np.log(POINT["sd_1"]), "Lraw_1": np.array([0.6]),
               "sigma_log__": np.asarray(np.log(1.9))})
    import pytensor

    outs = model.replace_rvs_by_values([pots[n] for n in sorted(pots)])
    fn = pytensor.function(model.value_vars, outs, on_unused_input="ignore")
    vals = dict(zip(sorted(pots), fn(*[ip[v.name] for v in model.value_vars]), strict=True))
    assert vals["lprior_Intercept_0"] == pytest.approx(stats.t.logpdf(4.2, 3, 5.3, 2.5))
    assert vals["lprior_b_0"] == pytest.approx(stats.norm.logpdf(0.7, 1, 3))  # coef x's row
    sd = POINT["sd_1"]
    assert vals["lprior_sd_1_0"] + vals["lprior_sd_1_1"] == pytest.approx(
        stats.t.logpdf(sd[0], 3, 0, 2.5) + stats.expon.logpdf(sd[1], scale=0.5))
    # K = 2: L = [[1, 0], [r, sqrt(1 - r^2)]]; lkj_corr_cholesky(2) = (2 - 1) * log(1 - r^2)
    r = np.tanh(0.6)
    assert vals["lprior_L_1"] == pytest.approx(
        np.log(1 - r**2))
    assert vals["jacobian_L_1"] == pytest.approx(np.log(1 - r**2))


def test_cholesky_corr_matches_numpy_and_is_a_correlation():
    import pytensor.tensor as pt

    y = np.array([0.3, -1.2, 0.8, 0.1, -0.4, 2.0])
    v = pt.dvector("v")
    L, _ = fast_model.cholesky_corr(v, 4)
    got = L.eval({v: y})
    assert np.allclose(got, fast_draws.cholesky_corr_np(y, 4))
    C = got @ got.T
    assert np.allclose(np.diag(C), 1.0) and np.all(np.linalg.eigvalsh(C) > 0)


def test_brms_draws_uncentre_and_name_like_brms():
    md = _toy("gaussian")
    post = {"Intercept": np.full((1, 2), 4.2), "b": np.full((1, 2, 1), 0.7),
            "sd_1": np.tile(POINT["sd_1"], (1, 2, 1)), "Lraw_1": np.full((1, 2, 1), 0.6),
            "z_1": np.tile(POINT["z_1"], (1, 2, 1, 1)), "sigma": np.full((1, 2), 1.9)}
    d = fast_draws.brms_draws(md, post)
    assert d["b_Intercept"][0, 0] == pytest.approx(4.2 - 0.7 * md.X[:, 1].mean())
    assert d["cor_g__Intercept__x"][0, 0] == pytest.approx(np.tanh(0.6))
    assert d["sd_g__x"][0, 1] == pytest.approx(0.4)
    r = d["r_g"][0, 0]
    L = fast_draws.cholesky_corr_np(np.array([0.6]), 2)
    assert np.allclose(r, (POINT["sd_1"][:, None] * (L @ POINT["z_1"])).T)
    assert set(d) >= {"b_x", "sd_g__Intercept", "sigma", "Intercept"}


def test_hypothesis_as_brms_computes_it():
    """brms's hypothesis(): left - right on the draws, 1 - 2 alpha one-sided intervals."""
    md = _toy("gaussian")
    rng = np.random.default_rng(5)
    post = {"b_Intercept": rng.normal(4.0, 0.5, (2, 500)), "b_x": rng.normal(0.3, 0.2, (2, 500))}
    fit = fast.FastFit(md, post, {}, {"options": {}, "details": {}, "warnings": []})
    h = fit.hypothesis(["x > 0", "x < 0.5", "x = Intercept", "2 * x - Intercept > -4"])
    x, a = post["b_x"].reshape(-1), post["b_Intercept"].reshape(-1)
    assert list(h.columns) == ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper",
                               "Evid.Ratio", "Post.Prob", "Star"]
    assert h.loc[0, "Hypothesis"] == "(x) > 0"
    assert h.loc[0, "Estimate"] == pytest.approx(x.mean())
    assert h.loc[0, "CI.Lower"] == pytest.approx(np.quantile(x, 0.05))
    assert h.loc[0, "CI.Upper"] == np.inf
    pp = np.mean(x > 0)
    assert h.loc[0, "Post.Prob"] == pytest.approx(pp)
    assert h.loc[0, "Evid.Ratio"] == pytest.approx(pp / (1 - pp))
    assert h.loc[1, "Post.Prob"] == pytest.approx(np.mean(x - 0.5 < 0))
    assert h.loc[1, "CI.Lower"] == -np.inf
    assert h.loc[2, "Hypothesis"] == "(x)-(Intercept) = 0"
    assert np.isnan(h.loc[2, "Post.Prob"]) and h.loc[2, "Star"] == "*"
    assert h.loc[3, "Estimate"] == pytest.approx((2 * x - a + 4).mean())
    with pytest.raises(pybrms.SpecError):
        fit.hypothesis("z > 0")


def _many_rows(family="gaussian", rows_per_level=120, levels=4, seed=8):
    """y ~ 1 + x + (1 | g) with many rows per level of g (sampled centred under "auto")."""
    rng = np.random.default_rng(seed)
    n = rows_per_level * levels
    x = rng.normal(size=n)
    index = np.arange(n) % levels
    block = fast_model.GroupBlock(id=1, group="g", coefs=("Intercept",), index=index,
                                  covariates=np.ones((n, 1)), levels=tuple("abcd"[:levels]),
                                  cor=True)
    eta = 0.3 + 0.5 * x + rng.normal(0, 0.4, levels)[index]
    fam = parse_family(family)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float) if fam.name == "bernoulli" \
        else eta + rng.normal(size=n)
    return fast_model.ModelData(family=fam, y=y, X=np.column_stack([np.ones(n), x]),
                                xnames=("Intercept", "x"), centred=True, groups=[block],
                                prior=fast_priors.prior_table(TABLE))


def test_blocks_with_many_rows_per_level_are_sampled_centred():
    md = _many_rows()
    (g,) = md.groups
    assert fast_model.centred_block(g) and not fast_model.centred_block(g, "never")
    few = _many_rows(rows_per_level=fast_model.CENTRED_MIN_ROWS - 1)
    assert not fast_model.centred_block(few.groups[0])
    corr = _toy()  # (1 + x | g): correlated, stays brms's non-centred form
    assert not fast_model.centred_block(corr.groups[0])
    auto = {v.name for v in fast_model.build_model(md).free_RVs}
    never = {v.name for v in fast_model.build_model(md, centre="never").free_RVs}
    # an intercept-only block takes the intercept as its levels' mean (uc_1 = Intercept + r)
    assert "uc_1" in auto and not {"z_1", "rc_1"} & auto
    assert "z_1" in never and not {"uc_1", "rc_1"} & never
    md.groups[0] = fast_model.GroupBlock(  # (1 + x || g): centred, on 0
        id=1, group="g", coefs=("Intercept", "x"), index=md.groups[0].index,
        covariates=np.column_stack([np.ones(md.n), md.X[:, 1]]), levels=md.groups[0].levels,
        cor=False)
    auto = {v.name for v in fast_model.build_model(md).free_RVs}
    assert "rc_1" in auto and not {"z_1", "uc_1"} & auto


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_centred_and_non_centred_blocks_are_one_model(family):
    """Same effects r = sd * z: the same likelihood; the group-level prior
    normal(Intercept + r | Intercept, sd) (centred on the intercept) equals std_normal(z) minus
    log sd per level (the change of variables)."""
    import pytensor

    md = _many_rows(family)
    sd, z = 0.7, np.array([[0.4, -1.1, 0.2, 1.5]])
    vals = {}
    for centre in ("auto", "never"):
        model = fast_model.build_model(md, centre=centre)
        ip = model.initial_point()
        ip.update({"Intercept": np.asarray(0.2), "b": np.array([0.45]),
                   "sd_1_log__": np.log(np.array([sd]))})
        if "sigma_log__" in ip:
            ip["sigma_log__"] = np.asarray(np.log(1.3))
        if centre == "auto":
            ip["uc_1"] = 0.2 + sd * z
        else:
            ip["z_1"] = z
        lik = _loglik(model)(ip)
        grp = model["uc_1"] if centre == "auto" else model["z_1"]
        prior_fn = pytensor.function(model.value_vars, model.logp(vars=[grp], jacobian=False),
                                     on_unused_input="ignore")
        vals[centre] = (float(lik), float(prior_fn(*[ip[v.name] for v in model.value_vars])))
    assert vals["auto"][0] == pytest.approx(vals["never"][0], rel=1e-12)
    assert vals["auto"][1] == pytest.approx(vals["never"][1] - z.size * np.log(sd), rel=1e-12)
    post = {"Intercept": np.full((1, 1), 0.2), "b": np.full((1, 1, 1), 0.45),
            "sd_1": np.full((1, 1, 1), sd), "uc_1": (0.2 + sd * z)[None, None]}
    r = fast_draws.brms_draws(md, post)["r_g"][0, 0]
    assert np.allclose(r, (sd * z).T)
    post["rc_1"] = post.pop("uc_1") - 0.2
    assert np.allclose(fast_draws.brms_draws(md, post)["r_g"][0, 0], (sd * z).T)


@pytest.mark.parametrize("family,want", [
    ("gaussian", lambda y, n: y.mean()),
    ("lognormal", lambda y, n: np.log(y).mean()),
    ("bernoulli", lambda y, n: np.log(y.mean() / (1 - y.mean()))),
    ("binomial", lambda y, n: np.log(y.sum() / (n.sum() - y.sum()))),
    ("poisson", lambda y, n: np.log(y.mean())),
    ("bernoulli(link = 'probit')", lambda y, n: stats.norm.ppf(y.mean())),
])
def test_chains_start_at_the_data_s_intercept(family, want):
    md = _toy(family)
    start = fast_model.initial_points(md)
    assert start == {"Intercept": pytest.approx(want(md.y, md.trials))}
    md.centred = False
    assert fast_model.initial_points(md) == {}
