"""rsimsum's performance measures: every value and MCSE against arithmetic written out here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pybrms.errors import SpecError
from pybrms.simstudy.performance import MEASURES, convergence_table, performance

TOL = 1e-12

# Method A, condition size=10: six replicates, truth 2.
A_EST = [2.5, 1.5, 2.0, 3.0, 1.0, 2.6]
A_SE = [0.5, 0.4, 0.6, 0.5, 0.3, 0.7]
A_LOW = [1.8, 1.0, 1.1, 2.05, 0.2, 2.05]
A_HIGH = [3.2, 2.0, 2.9, 3.9, 1.6, 3.4]
A_CONV = [True, True, False, True, True, True]
A_P = [0.01, 0.2, 0.04, 0.001, 0.5, 0.03]


def frame() -> pd.DataFrame:
    """Two conditions (size 10, 20) x two methods (A with p-values, B without) x 6 reps."""
    rows = []
    for size, shift in ((10, 0.0), (20, 0.25)):
        for r in range(6):
            rows.append(dict(size=size, rep=r, method="A", term="x",
                             estimate=A_EST[r] + shift, std_error=A_SE[r],
                             conf_low=A_LOW[r] + shift, conf_high=A_HIGH[r] + shift,
                             truth=2.0, converged=A_CONV[r], p_value=A_P[r], error=None))
            rows.append(dict(size=size, rep=r, method="B", term="x",
                             estimate=A_EST[r] / 2, std_error=A_SE[r] / 2,
                             conf_low=A_LOW[r] / 2, conf_high=A_HIGH[r] / 2,
                             truth=1.0, converged=True, p_value=np.nan, error=None))
    return pd.DataFrame(rows)


def pick(perf, *, size=10, method="A", subset="all", measure):
    row = perf[(perf["size"] == size) & (perf["method"] == method)
               & (perf["subset"] == subset) & (perf["measure"] == measure)]
    assert len(row) == 1
    return row.iloc[0]


def close(a, b):
    return math.isclose(a, b, rel_tol=0, abs_tol=TOL)


# ----- plain arithmetic, written out independently of the module -----------------------------
def mean(xs):
    return sum(xs) / len(xs)


def var(xs):  # denominator n - 1, as R's var()
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def hand(est, se, low, high, truth):
    n = len(est)
    m = mean(est)
    err = [e - truth for e in est]
    sq = [d * d for d in err]
    mse = mean(sq)
    empse = math.sqrt(var(est))
    se2 = [s * s for s in se]
    modelse = math.sqrt(mean(se2))
    cover = mean([1.0 if lo <= truth <= hi else 0.0 for lo, hi in zip(low, high, strict=True)])
    becover = mean([1.0 if lo <= m <= hi else 0.0 for lo, hi in zip(low, high, strict=True)])
    rel = [d / truth for d in err]
    return {
        "bias": (mean(err), math.sqrt(sum((e - m) ** 2 for e in est) / (n * (n - 1)))),
        "rbias": (mean(rel), math.sqrt(var(rel)) / math.sqrt(n)),
        "empse": (empse, empse / math.sqrt(2 * (n - 1))),
        "mse": (mse, math.sqrt(sum((s - mse) ** 2 for s in sq) / (n * (n - 1)))),
        "rmse": (math.sqrt(mse),
                 math.sqrt(sum((s - mse) ** 2 for s in sq) / (n * (n - 1)))
                 / (2 * math.sqrt(mse))),
        "modelse": (modelse, math.sqrt(var(se2) / (4 * n * modelse**2))),
        "relerror": (100 * (modelse / empse - 1),
                     100 * (modelse / empse)
                     * math.sqrt(var(se2) / (4 * n * modelse**4) + 1 / (2 * (n - 1)))),
        "cover": (cover, math.sqrt(cover * (1 - cover) / n)),
        "becover": (becover, math.sqrt(becover * (1 - becover) / n)),
    }


# ----- tests ----------------------------------------------------------------------------------
def test_first_values_worked_by_hand():
    perf = performance(frame(), ["size"])
    # errors 0.5, -0.5, 0, 1, -1, 0.6 sum to 0.6: bias 0.1; mean estimate 12.6 / 6 = 2.1,
    # squared deviations .16 .36 .01 .81 1.21 .25 sum to 2.8
    assert close(pick(perf, measure="bias")["value"], 0.1)
    assert close(pick(perf, measure="bias")["mcse"], math.sqrt(2.8 / 30))
    assert close(pick(perf, measure="empse")["value"], math.sqrt(2.8 / 5))
    assert close(pick(perf, measure="empse")["mcse"], math.sqrt(0.56) / math.sqrt(10))
    # relative errors .25 -.25 0 .5 -.5 .3: mean .05; squared deviations sum to .7
    assert close(pick(perf, measure="rbias")["value"], 0.05)
    assert close(pick(perf, measure="rbias")["mcse"], math.sqrt(0.7 / 5) / math.sqrt(6))
    # squared errors .25 .25 0 1 1 .36 sum to 2.86
    assert close(pick(perf, measure="mse")["value"], 2.86 / 6)
    # truth 2 lies in the intervals of reps 0, 2 and 1 (which ends at 2.0: closed, covered);
    # reps 3 and 5 start at 2.05 > 2 and rep 4 ends at 1.6 < 2 -> 3 of 6
    assert close(pick(perf, measure="cover")["value"], 0.5)
    assert close(pick(perf, measure="cover")["mcse"], math.sqrt(0.5 * 0.5 / 6))
    # p-values below 0.05: reps 0, 2, 3, 5 -> power 4 / 6
    assert close(pick(perf, measure="power")["value"], 4 / 6)
    assert pick(perf, measure="power")["rule"] == "p_value<alpha"


@pytest.mark.parametrize("size,shift", [(10, 0.0), (20, 0.25)])
def test_every_measure_and_mcse_all_replicates(size, shift):
    perf = performance(frame(), ["size"])
    est = [e + shift for e in A_EST]
    low = [x + shift for x in A_LOW]
    high = [x + shift for x in A_HIGH]
    expected = hand(est, A_SE, low, high, 2.0)
    for measure, (value, mcse) in expected.items():
        row = pick(perf, size=size, measure=measure)
        assert close(row["value"], value), measure
        assert close(row["mcse"], mcse), measure
        assert row["n"] == 6


def test_method_b_scaled_by_half():
    perf = performance(frame(), ["size"])
    est = [e / 2 for e in A_EST]
    expected = hand(est, [s / 2 for s in A_SE], [x / 2 for x in A_LOW],
                    [x / 2 for x in A_HIGH], 1.0)
    for measure, (value, mcse) in expected.items():
        row = pick(perf, method="B", measure=measure)
        assert close(row["value"], value), measure
        assert close(row["mcse"], mcse), measure


def test_converged_subset_drops_the_non_converged_replicate():
    perf = performance(frame(), ["size"])
    keep = [i for i in range(6) if A_CONV[i]]
    expected = hand([A_EST[i] for i in keep], [A_SE[i] for i in keep],
                    [A_LOW[i] for i in keep], [A_HIGH[i] for i in keep], 2.0)
    for measure, (value, mcse) in expected.items():
        row = pick(perf, subset="converged", measure=measure)
        assert close(row["value"], value), measure
        assert close(row["mcse"], mcse), measure
        assert row["n"] == 5
    # p-values of the converged reps: .01 .2 .001 .5 .03 -> 3 of 5 below .05
    power = pick(perf, subset="converged", measure="power")
    assert close(power["value"], 3 / 5) and close(power["mcse"], math.sqrt(0.6 * 0.4 / 5))
    # and the subsets really differ
    assert pick(perf, measure="bias")["value"] != pick(perf, subset="converged",
                                                       measure="bias")["value"]


def test_failed_fits_are_excluded_everywhere():
    df = frame()
    failed = pd.DataFrame([
        dict(size=10, rep=6, method="A", term="x", estimate=np.nan, std_error=np.nan,
             conf_low=np.nan, conf_high=np.nan, truth=2.0, converged=None, p_value=np.nan,
             error="sampler crashed"),
        # an error although an estimate was written: still a failed fit
        dict(size=10, rep=7, method="A", term="x", estimate=50.0, std_error=1.0,
             conf_low=49.0, conf_high=51.0, truth=2.0, converged=True, p_value=0.0,
             error="post-processing failed"),
        # no error text but no estimate either
        dict(size=10, rep=8, method="A", term="x", estimate=np.nan, std_error=0.5,
             conf_low=np.nan, conf_high=np.nan, truth=2.0, converged=True, p_value=np.nan,
             error=None),
    ])
    perf = performance(pd.concat([df, failed], ignore_index=True), ["size"])
    expected = hand(A_EST, A_SE, A_LOW, A_HIGH, 2.0)
    for measure, (value, mcse) in expected.items():
        for subset in ("all", "converged"):
            row = pick(perf, subset=subset, measure=measure)
            assert row["n"] == (6 if subset == "all" else 5)
        row = pick(perf, measure=measure)
        assert close(row["value"], value) and close(row["mcse"], mcse), measure
    assert pick(perf, measure="power")["n"] == 6


def test_relative_bias_with_zero_truth_is_nan_and_the_rest_is_not():
    df = frame()
    df.loc[df["method"] == "B", "truth"] = 0.0
    perf = performance(df, ["size"])
    rb = pick(perf, method="B", measure="rbias")
    assert math.isnan(rb["value"]) and math.isnan(rb["mcse"])
    assert close(pick(perf, method="B", measure="bias")["value"], mean([e / 2 for e in A_EST]))
    # one zero among non-zero truths also makes it undefined
    df.loc[(df["method"] == "A") & (df["rep"] == 0), "truth"] = 0.0
    assert math.isnan(pick(performance(df, ["size"]), measure="rbias")["value"])


def test_power_by_interval_rule():
    perf = performance(frame(), ["size"])
    # method B has no p-values: the interval rule, null 0. Intervals (halved A's) all lie
    # above 0 -> every replicate rejects
    row = pick(perf, method="B", measure="power")
    assert row["rule"] == "interval_excludes_null"
    assert close(row["value"], 1.0) and close(row["mcse"], 0.0)
    # null 1: intervals (0.9,1.6) (0.5,1.0) (0.55,1.45) (1.025,1.95) (0.1,0.8) (1.025,1.7)
    # exclude 1 for reps 3, 4, 5 (rep 1 ends at 1.0: not excluded) -> 3 of 6
    row = pick(performance(frame(), ["size"], null=1.0), method="B", measure="power")
    assert close(row["value"], 0.5) and close(row["mcse"], math.sqrt(0.25 / 6))
    # forcing the interval rule on A, null 2: excluded by reps 3 (2.05,3.9), 4 (0.2,1.6) and
    # 5 (2.05,3.4); rep 1 (1.0,2.0) touches 2 and does not reject -> 3 of 6
    row = pick(performance(frame(), ["size"], null=2.0, power_rule="interval"),
               measure="power")
    assert row["rule"] == "interval_excludes_null"
    assert close(row["value"], 0.5)


def test_power_by_p_value_follows_alpha():
    perf = performance(frame(), ["size"], alpha=0.02)
    # below .02: .01 and .001 -> 2 of 6
    row = pick(perf, measure="power")
    assert close(row["value"], 2 / 6) and close(row["mcse"], math.sqrt((1 / 3) * (2 / 3) / 6))
    assert row["n"] == 6


def test_becover_uses_the_mean_estimate():
    df = frame()
    perf = performance(df, ["size"])
    # the mean estimate 2.1 lies in the intervals of reps 0, 2, 3 (2.05..3.9) and 5
    # (2.05..3.4), not in rep 1's (1.0..2.0) or rep 4's (0.2..1.6) -> 4 of 6 (cover: 3 of 6)
    row = pick(perf, measure="becover")
    assert close(row["value"], 4 / 6)
    assert close(row["mcse"], math.sqrt((4 / 6) * (2 / 6) / 6))
    assert row["value"] != pick(perf, measure="cover")["value"]


def test_fewer_than_two_replicates():
    df = frame()
    one = df[(df["rep"] == 0)]
    perf = performance(one, ["size"])
    bias = pick(perf, measure="bias")
    assert close(bias["value"], 0.5) and math.isnan(bias["mcse"]) and bias["n"] == 1
    assert math.isnan(pick(perf, measure="empse")["value"])
    assert math.isnan(pick(perf, measure="relerror")["value"])
    assert close(pick(perf, measure="cover")["value"], 1.0)
    # a subset with no row at all: NaN with n 0, not an error
    none_conv = df.assign(converged=False)
    row = pick(performance(none_conv, ["size"]), subset="converged", measure="bias")
    assert row["n"] == 0 and math.isnan(row["value"])


def test_shape_and_order():
    perf = performance(frame(), ["size"])
    assert list(perf.columns) == ["size", "method", "term", "subset", "measure", "value",
                                  "mcse", "n", "rule", "target"]
    assert len(perf) == 2 * 2 * 1 * 2 * len(MEASURES)
    assert list(perf["measure"].iloc[: len(MEASURES)]) == list(MEASURES)
    assert pick(perf, measure="cover")["target"] == 0.95
    assert pick(perf, measure="bias")["target"] == 0.0
    # without conditions
    single = performance(frame().query("size == 10").drop(columns="size"))
    assert len(single) == 2 * 2 * len(MEASURES)


def test_rsimsum_reference_values():
    # rsimsum's own .performance (R/performance.R at commit 6041ba7, sourced in R 4) on
    # method A's six replicates with ci.limits = c("conf_low", "conf_high"), true = 2
    perf = performance(frame(), ["size"])
    reference = {  # R: print(.performance(...)) with options(digits = 15)
        "bias": (0.100000000000000, 0.3055050463303893),
        "rbias": (0.050000000000000, 0.1527525231651947),
        "empse": (0.748331477354788, 0.2366431913239846),
        "mse": (0.476666666666667, 0.1723691129846386),
        "modelse": (0.516397779494322, 0.0563840994134576),
        "relerror": (-30.993444065764585, 23.0859548107460633),
        "cover": (0.500000000000000, 0.2041241452319315),
        "becover": (0.666666666666667, 0.1924500897298753),
    }
    for measure, (value, mcse) in reference.items():
        row = pick(perf, measure=measure)
        assert math.isclose(row["value"], value, rel_tol=1e-14, abs_tol=1e-14), measure
        assert math.isclose(row["mcse"], mcse, rel_tol=1e-14, abs_tol=1e-14), measure


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.drop(columns=["truth"]), "truth"),
    (lambda d: d.iloc[0:0], "no rows"),
    (lambda d: pd.concat([d, d.iloc[[0]]]), "share"),
    (lambda d: d.rename(columns={"size": "n"}), "reserved"),
])
def test_bad_input(mutate, message):
    by = ["n"] if message == "reserved" else ["size"]
    with pytest.raises(SpecError, match=message):
        performance(mutate(frame()), by)


def test_bad_options():
    with pytest.raises(SpecError, match="alpha"):
        performance(frame(), ["size"], alpha=1.5)
    with pytest.raises(SpecError, match="power_rule"):
        performance(frame(), ["size"], power_rule="bayes")
    with pytest.raises(SpecError, match="size_x"):
        performance(frame(), ["size_x"])
    with pytest.raises(SpecError, match="p_value"):
        performance(frame().drop(columns="p_value"), ["size"], power_rule="p_value")


def test_convergence_table_counts():
    df = frame()
    df["divergences"] = 0
    df.loc[(df["method"] == "A") & (df["rep"].isin([1, 2])), "divergences"] = 3
    df["rhat_max"] = 1.0
    df.loc[(df["method"] == "A") & (df["rep"] == 2), "rhat_max"] = 1.05
    df["ess_bulk_min"] = 1000.0
    df.loc[(df["method"] == "B") & (df["rep"] == 4), "ess_bulk_min"] = 150.0
    df["singular"] = False
    df["singular"] = df["singular"].astype(object)
    df.loc[(df["method"] == "B") & (df["size"] == 20), "singular"] = True
    df.loc[(df["method"] == "A") & (df["rep"] == 5), "singular"] = None  # missing: not singular
    failed = df[(df["method"] == "A") & (df["rep"] == 0)].copy()
    failed["rep"] = 6
    failed["estimate"] = np.nan
    failed["error"] = "boom"
    failed["converged"] = False
    df = pd.concat([df, failed], ignore_index=True)
    tab = convergence_table(df, ["size"])
    assert list(tab.columns) == ["size", "method", "n_reps", "n_failed", "n_not_converged",
                                 "n_converged", "n_divergent", "n_rhat_high", "n_ess_low",
                                 "n_singular"]
    a10 = tab[(tab["size"] == 10) & (tab["method"] == "A")].iloc[0]
    assert (a10["n_reps"], a10["n_failed"], a10["n_not_converged"], a10["n_converged"]) == (
        7, 1, 1, 5)
    assert (a10["n_divergent"], a10["n_rhat_high"], a10["n_ess_low"], a10["n_singular"]) == (
        2, 1, 0, 0)
    b20 = tab[(tab["size"] == 20) & (tab["method"] == "B")].iloc[0]
    assert (b20["n_reps"], b20["n_converged"], b20["n_ess_low"], b20["n_singular"]) == (
        6, 6, 1, 6)
    # only the optional columns present are counted
    plain = convergence_table(frame(), ["size"])
    assert "n_divergent" not in plain.columns and len(plain) == 4


def test_intervals_are_closed_at_both_ends():
    # estimates 1 and 3 (mean exactly 2) with intervals [2, 4] and [0, 2]: truth 2 and the
    # mean 2 touch the lower end of one and the upper end of the other -> both cover
    df = pd.DataFrame(dict(rep=[0, 1], method="A", term="x", estimate=[1.0, 3.0],
                           std_error=[1.0, 1.0], conf_low=[2.0, 0.0], conf_high=[4.0, 2.0],
                           truth=2.0, converged=True))
    perf = performance(df, null=2.0)
    for measure in ("cover", "becover"):
        row = perf[(perf["measure"] == measure) & (perf["subset"] == "all")].iloc[0]
        assert row["value"] == 1.0 and row["mcse"] == 0.0, measure
    # and null 2 is not rejected by either interval
    assert perf[(perf["measure"] == "power") & (perf["subset"] == "all")]["value"].iloc[0] == 0


def test_categorical_conditions_keep_their_order_and_skip_empty_cells():
    df = frame()
    df["size"] = pd.Categorical(df["size"], categories=[20, 10, 99])
    perf = performance(df, ["size"])
    assert list(pd.unique(perf["size"])) == [20, 10]  # category order; 99 has no rows
    assert len(perf) == 2 * 2 * 2 * len(MEASURES)
    assert list(convergence_table(df, ["size"])["size"]) == [20, 20, 10, 10]
