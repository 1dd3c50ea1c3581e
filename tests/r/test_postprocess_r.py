"""Post-processing pieces that need R but no Stan compile: the figures' statistics against
R's own functions, and how Python's arguments reach brms (re_formula, seeds)."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from pybrms import bridge
from pybrms.engines.brms.args import re_formula_text as _re_formula
from pybrms.errors import PybrmsError
from pybrms.plots.conditional import ConditionalEffects
from pybrms.plots.ppc import STATS, density, ppc_figure

matplotlib.use("Agg")
pytestmark = pytest.mark.r

RNG = np.random.default_rng(3)
Y = RNG.gamma(3.0, 20.0, size=57)


def r_eval(code: str):
    return bridge.to_py(bridge.ensure_r("core").r(code))


def r_vec(values: np.ndarray) -> str:
    return "c(" + ", ".join(f"{v:.17g}" for v in values) + ")"


def test_density_is_r_gaussian_kernel_with_bw_nrd0():
    grid = np.linspace(Y.min() - 10, Y.max() + 10, 512)
    bw = r_eval(f"stats::bw.nrd0({r_vec(Y)})")
    # the exact kernel sum with R's bandwidth, evaluated by R itself
    r_exact = np.asarray(r_eval(
        f"y <- {r_vec(Y)}; g <- {r_vec(grid)}; "
        f"sapply(g, function(x) mean(stats::dnorm(x, y, {bw!r})))"), dtype=float)
    np.testing.assert_allclose(density(Y, grid), r_exact, rtol=1e-12)
    # and R's density() (binned FFT) agrees to its own approximation
    r_fft = np.asarray(r_eval(
        f"stats::density({r_vec(Y)}, bw = 'nrd0', n = 512, from = {float(grid[0])!r}, "
        f"to = {float(grid[-1])!r})$y"), dtype=float)
    np.testing.assert_allclose(density(Y, grid), r_fft, atol=2e-3 * r_fft.max())


@pytest.mark.parametrize("stat,r_fun", [("mean", "mean"), ("median", "median"), ("sd", "sd"),
                                        ("var", "var"), ("min", "min"), ("max", "max")])
def test_pp_check_statistics_are_rs(stat, r_fun):
    yrep = RNG.normal(60, 15, size=(7, Y.size))
    r_rows = [r_eval(f"{r_fun}({r_vec(row)})") for row in yrep]
    np.testing.assert_allclose(STATS[stat](yrep), r_rows, rtol=1e-14)
    fig = ppc_figure(Y, yrep, type="stat", stat=stat)
    np.testing.assert_allclose(fig.pybrms_data["T_y"], r_eval(f"{r_fun}({r_vec(Y)})"),
                               rtol=1e-14)


def test_ppc_figure_layouts_and_errors():
    yrep = RNG.normal(60, 15, size=(5, Y.size))
    fig = ppc_figure(Y, yrep, type="dens_overlay", response="Reaction")
    ax = fig.axes[0]
    assert len(ax.lines) == 6 and ax.get_xlabel() == "Reaction"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), density(yrep[0], ax.lines[0].get_xdata()))
    hist = ppc_figure(Y, yrep, type="hist")
    assert len([a for a in hist.axes if a.get_visible()]) == 6
    with pytest.raises(ValueError, match="yrep has 3 columns"):
        ppc_figure(Y, yrep[:, :3])
    with pytest.raises(ValueError, match="type must be one of"):
        ppc_figure(Y, yrep, type="violin")


def test_conditional_effects_plot_kinds():
    num = pd.DataFrame({"effect1__": [0.0, 1.0, 2.0], "estimate__": [1.0, 2.0, 3.0],
                        "lower__": [0.5, 1.5, 2.5], "upper__": [1.5, 2.5, 3.5]})
    cat = pd.DataFrame({"effect1__": ["a", "b"], "estimate__": [1.0, 2.0],
                        "lower__": [0.0, 1.0], "upper__": [2.0, 3.0]})
    inter = pd.concat([num.assign(effect2__="lo"), (num + 1).assign(effect2__="hi")])
    ce = ConditionalEffects({"x": num, "g": cat, "x:z": inter}, response="y")
    fig = ce.plot()
    ax_x, ax_g, ax_xz = fig.axes[:3]
    np.testing.assert_array_equal(ax_x.lines[0].get_ydata(), [1.0, 2.0, 3.0])
    assert [t.get_text() for t in ax_g.get_xticklabels()] == ["a", "b"]
    assert len(ax_xz.lines) == 2 and ax_xz.get_legend().get_title().get_text() == "z"
    with pytest.raises(KeyError, match="no conditional effect"):
        ce.plot(["w"])


def test_re_formula_reaches_r_as_brms_reads_it():
    assert _re_formula(None) is None
    assert _re_formula(float("nan")) == "NA" and _re_formula("~0") == "NA"
    assert _re_formula("~ (1 | g)") == "~ (1 | g)"
    with pytest.raises(PybrmsError, match="re_formula"):
        _re_formula("(1 | g)")
    bridge.ensure_r("core")
    assert r_eval('is.null(pybrms_re_formula(NULL))') is True
    assert r_eval('is.na(pybrms_re_formula("NA"))') is True
    assert r_eval('inherits(pybrms_re_formula("~ (1 | g)"), "formula")') is True


def test_seed_is_set_seed_in_r():
    bridge.ensure_r("core")
    a = r_eval("pybrms_set_seed(5L); runif(3)")
    b = r_eval("set.seed(5L); runif(3)")
    assert a == b


@pytest.mark.parametrize("explicit,changes", [(False, True), (True, False)])
def test_update_detects_data_dependent_default_priors(golden_dir, explicit, changes):
    # brm(empty = TRUE) builds the brmsfit without compiling anything
    sleep = pd.read_csv(golden_dir / "brms" / "sleepstudy.csv")
    prior = ('c(set_prior("normal(0, 1e6)", class = "b"), '
             'set_prior("normal(0, 1e6)", class = "Intercept"), '
             'set_prior("student_t(3, 0, 50)", class = "sd"), '
             'set_prior("student_t(3, 0, 50)", class = "sigma"))') if explicit else "NULL"
    ro = bridge.ensure_r("brms")
    make = ro.r(f"function(d) brms::brm(Reaction ~ Days + (1 | Subject), data = d, "
                f"prior = {prior}, empty = TRUE)")
    x = make(bridge.to_r(sleep))
    same = bridge.call("pybrms_update_code_changes", x, sleep)
    assert bridge.to_py(same) is False  # the fit's own data: never a change
    # Days < 3: a lower median reaction time, so brms's default Intercept prior changes
    later = sleep[sleep["Days"] < 3].reset_index(drop=True)
    assert bridge.to_py(bridge.call("pybrms_update_code_changes", x, later)) is changes


def test_three_dimensional_r_arrays_keep_brms_layout():
    # posterior_epred of an ordinal model is draws x observations x categories
    ro = bridge.ensure_r("core")
    arr = bridge.r_matrix(ro.r("array(seq_len(2 * 3 * 4) + 0.5, dim = c(2, 3, 4))"))
    assert arr.shape == (2, 3, 4)
    assert arr[1, 2, 3] == r_eval("array(seq_len(2 * 3 * 4) + 0.5, dim = c(2, 3, 4))[2, 3, 4]")
    assert arr[0, 1, 2] == r_eval("array(seq_len(2 * 3 * 4) + 0.5, dim = c(2, 3, 4))[1, 2, 3]")
