"""A fit request's options: the priors' constants as data reach only engines that compile."""

import pandas as pd

from pybrms.runs.fitting import FitRequest, with_stanvars


def test_constants_as_data_join_a_compiling_engines_own_stanvars():
    opts = {"chains": 2, "stanvars": {"user_scale": 3.0}}
    merged = with_stanvars("brms", opts, {"p1_mu": 0.0, "p1_sigma": 2.5})
    assert merged["stanvars"] == {"user_scale": 3.0, "p1_mu": 0.0, "p1_sigma": 2.5}
    assert opts["stanvars"] == {"user_scale": 3.0}  # the caller's options are left alone
    # an engine that compiles nothing takes the constants written in the priors
    assert with_stanvars("lme4", {"REML": True}, {"p1_mu": 0.0}) == {"REML": True}
    assert with_stanvars("brms", {"chains": 2}, {}) == {"chains": 2}


def test_a_request_hands_them_to_the_engine_options():
    data = pd.DataFrame({"y": [0.1, 0.2], "x": [1.0, 2.0]})
    req = FitRequest("brms", "y ~ x", "gaussian", data, [], {"chains": 2}, 0.9,
                     {"p1_sigma": 2.5})
    opts = req.engine_options({"iter": 400})
    assert opts.stanvars == {"p1_sigma": 2.5} and opts.chains == 2 and opts.iter == 400
    lme4 = FitRequest("lme4", "y ~ x", "gaussian", data, [], {"chains": 2}, 0.9,
                      {"p1_sigma": 2.5})
    assert "stanvars" not in vars(lme4.engine_options())
