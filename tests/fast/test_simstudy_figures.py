"""Simulation-study figures: built from small fixed frames, counted, and saved as PNG."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from pybrms.errors import SpecError
from pybrms.simstudy.figures import (
    ecdf_diff_plot,
    measure_plot,
    nested_loop_plot,
    rank_histogram,
    zip_plot,
)
from pybrms.simstudy.performance import performance

Z975 = 1.959963984540054  # R's qnorm(0.975), rsimsum's multiplier


def saved(fig: Figure, path) -> bool:
    fig.savefig(path)
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def line(ax, label):
    found = [ln for ln in ax.lines if ln.get_label() == label]
    assert len(found) == 1, [ln.get_label() for ln in ax.lines]
    return found[0]


# ----- zip --------------------------------------------------------------------------------
def zip_frame() -> pd.DataFrame:
    # condition n_obs=10: method A 8 replicates (2 miss the truth 1.0), method B 7 usable + 1
    # failed; condition n_obs=20 must be filtered out
    est_a = [1.1, 0.8, 1.4, 0.95, 2.0, 1.02, -0.3, 1.2]
    rows = []
    for r, e in enumerate(est_a):
        rows.append(dict(n_obs=10, rep=r, method="A", term="x", estimate=e, std_error=0.25,
                         conf_low=e - 0.5, conf_high=e + 0.5, truth=1.0, converged=True,
                         error=None))
        failed = r == 7
        rows.append(dict(n_obs=10, rep=r, method="B", term="x",
                         estimate=np.nan if failed else e, std_error=np.nan if failed else 0.5,
                         conf_low=np.nan if failed else e - 1.0,
                         conf_high=np.nan if failed else e + 1.0, truth=1.0, converged=True,
                         error="failed" if failed else None))
        rows.append(dict(n_obs=20, rep=r, method="A", term="x", estimate=e, std_error=0.1,
                         conf_low=e - 0.2, conf_high=e + 0.2, truth=1.0, converged=True,
                         error=None))
    return pd.DataFrame(rows)


def test_zip_plot_segments_lines_and_centiles(tmp_path):
    fig = zip_plot(zip_frame(), condition={"n_obs": 10})
    assert len(fig.axes) == 2
    ax_a, ax_b = fig.axes
    assert ax_a.get_title() == "A" and ax_b.get_title() == "B"
    # method A: one segment per replicate; |est - 1| = .1 .2 .4 .05 1 .02 1.3 .2 and intervals
    # of half-width .5 miss the truth for reps 4 (1.5..2.5) and 6 (-0.8..0.2)
    colls = {c.get_label(): c for c in ax_a.collections if isinstance(c, LineCollection)}
    assert len(colls["covers truth"].get_segments()) == 6
    assert len(colls["misses truth"].get_segments()) == 2
    ys = sorted(seg[0][1] for c in colls.values() for seg in c.get_segments())
    # ranks of |z|: .02 .05 .1 (.2 .2 tie -> 4.5 4.5) .4 1 1.3 -> divided by the max rank 8
    assert np.allclose(ys, [1 / 8, 2 / 8, 3 / 8, 4.5 / 8, 4.5 / 8, 6 / 8, 7 / 8, 1.0])
    miss_y = sorted(seg[0][1] for seg in colls["misses truth"].get_segments())
    assert np.allclose(miss_y, [7 / 8, 1.0])
    # rep 4's segment spans its interval
    assert any(np.allclose(seg, [[1.5, 7 / 8], [2.5, 7 / 8]])
               for seg in colls["misses truth"].get_segments())
    # coverage 6/8 with Monte Carlo interval +- qnorm(.975) sqrt(p (1 - p) / 8)
    p, half = 0.75, Z975 * math.sqrt(0.75 * 0.25 / 8)
    assert np.allclose(line(ax_a, "coverage MC lower").get_ydata(), p - half)
    assert np.allclose(line(ax_a, "coverage MC upper").get_ydata(), p + half)
    assert np.allclose(line(ax_a, "nominal").get_ydata(), 0.95)
    assert np.allclose(line(ax_a, "truth").get_xdata(), 1.0)
    # method B: the failed replicate is left out -> 7 segments; half-width 1 misses rep 6 only
    colls_b = [c for c in ax_b.collections if isinstance(c, LineCollection)]
    assert sum(len(c.get_segments()) for c in colls_b) == 7
    p = 6 / 7
    assert np.allclose(line(ax_b, "coverage MC upper").get_ydata(),
                       p + Z975 * math.sqrt(p * (1 - p) / 7))
    assert saved(fig, tmp_path / "zip.png")


def test_zip_plot_zoom_level_and_errors():
    fig = zip_plot(zip_frame(), condition={"n_obs": 20}, level=0.9, zoom=0.5)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_ylim() == (0.5, 1.0)
    assert np.allclose(line(fig.axes[0], "nominal").get_ydata(), 0.9)
    # a truth that varies between replicates: intervals minus their truth, the line at 0
    varying = zip_frame().query("n_obs == 20 and method == 'A'").copy()
    varying["truth"] = np.linspace(0.5, 1.5, len(varying))
    varying[["estimate", "conf_low", "conf_high"]] += (varying["truth"] - 1.0).to_numpy()[:, None]
    ax = zip_plot(varying).axes[0]
    assert np.allclose(line(ax, "truth").get_xdata(), 0.0)
    segs = [s for c in ax.collections for s in c.get_segments()]
    assert np.allclose(sorted(s[0][0] for s in segs),
                       sorted(e - 1.2 for e in [1.1, 0.8, 1.4, 0.95, 2.0, 1.02, -0.3, 1.2]))
    two_terms = pd.concat([zip_frame(), zip_frame().assign(term="y")])
    with pytest.raises(SpecError, match="term="):
        zip_plot(two_terms, condition={"n_obs": 10})
    with pytest.raises(SpecError, match="no usable"):
        zip_plot(zip_frame(), condition={"n_obs": 99})


# ----- measure by condition -------------------------------------------------------------------
def perf_frame() -> pd.DataFrame:
    """A hand-made performance frame: conditions a x b (3 x 2), methods m1, m2."""
    rows = []
    for i, (a, b) in enumerate([(a, b) for b in ("lo", "hi") for a in (10, 20, 50)]):
        for j, method in enumerate(("m1", "m2")):
            for measure, target in (("bias", 0.0), ("cover", 0.95)):
                rows.append(dict(a=a, b=b, method=method, term="x", subset="all",
                                 measure=measure, value=0.01 * i + j + (0.9 if target else 0),
                                 mcse=0.001 * (i + 1), n=100, rule=None, target=target))
    return pd.DataFrame(rows)


def test_measure_plot_points_bars_and_reference(tmp_path):
    fig = measure_plot(perf_frame(), "cover")
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.containers) == 2  # one errorbar per method
    labels = [t.get_text() for t in ax.get_xticklabels()]
    # scenarios sorted by a then b ("hi" < "lo")
    assert labels[:2] == ["a=10, b=hi", "a=10, b=lo"] and len(labels) == 6
    m1 = ax.containers[0]
    y = m1.lines[0].get_ydata()
    # a=10, b=hi is the 4th row built (i = 3): value 0.03 + 0.9
    assert np.isclose(y[0], 0.93) and np.isclose(y[1], 0.90)
    seg = m1.lines[2][0].get_segments()[0]  # the first bar: +- 1.96 x mcse 0.004
    assert np.isclose(seg[1][1] - seg[0][1], 2 * 1.96 * 0.004)
    assert np.allclose(line(ax, "reference").get_ydata(), 0.95)
    assert saved(fig, tmp_path / "cover.png")
    bias = measure_plot(perf_frame(), "bias", reference=0.05)
    assert np.allclose(line(bias.axes[0], "reference").get_ydata(), 0.05)


def test_measure_plot_from_performance_output(tmp_path):
    est = zip_frame()
    fig = measure_plot(performance(est, ["n_obs"]), "bias", methods=["B", "A"])
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["B", "A"]
    # A's bias at n_obs=10: mean of (est - 1) = (0.1-0.2+0.4-0.05+1+0.02-1.3+0.2)/8 = 0.02125
    assert np.isclose(ax.containers[1].lines[0].get_ydata()[0], 0.02125)
    # B has no n_obs=20 rows: a missing point, not an error
    assert np.isnan(ax.containers[0].lines[0].get_ydata()[1])
    assert saved(fig, tmp_path / "bias.png")
    with pytest.raises(SpecError, match="empse2"):
        measure_plot(performance(est, ["n_obs"]), "empse2")


# ----- nested loop ----------------------------------------------------------------------------
def test_nested_loop_plot_order_and_counts(tmp_path):
    perf = perf_frame()
    perf = perf[~((perf["a"] == 50) & (perf["b"] == "hi") & (perf["method"] == "m2"))]
    fig = nested_loop_plot(perf, "bias", ["a", "b"])
    top, bottom = fig.axes
    assert len(top.lines) == 3 and len(bottom.lines) == 2
    m1 = line(top, "m1")
    # expand.grid order, a fastest: (10,hi) (20,hi) (50,hi) (10,lo) (20,lo) (50,lo); the
    # frame was built b-major with "lo" first: i = 3, 4, 5, 0, 1, 2 -> values .03 .04 .05 0 ...
    assert np.allclose(m1.get_ydata(), [0.03, 0.04, 0.05, 0.0, 0.01, 0.02, 0.02])
    assert np.allclose(m1.get_xdata(), np.arange(7) + 0.5)
    m2 = line(top, "m2").get_ydata()
    assert np.isnan(m2[2]) and np.isclose(m2[0], 1.03)
    assert np.allclose(line(top, "reference").get_ydata(), 0.0)
    # the level lines: a cycles 3 levels within each b; b steps once
    a_line = line(bottom, "a").get_ydata()
    b_line = line(bottom, "b").get_ydata()
    assert len(set(np.round(a_line, 9))) == 3 and len(set(np.round(b_line, 9))) == 2
    assert a_line[0] == a_line[3] and a_line[1] > a_line[0] and b_line[3] > b_line[2]
    assert bottom.get_xlabel() == "3 x 2 = 6 ordered scenarios"
    assert saved(fig, tmp_path / "nlp.png")
    # reversed nesting: b fastest
    rev = line(nested_loop_plot(perf, "bias", ["b", "a"]).axes[0], "m1").get_ydata()
    assert np.allclose(rev[:6], [0.03, 0.0, 0.04, 0.01, 0.05, 0.02])
    with pytest.raises(SpecError, match="condition"):
        nested_loop_plot(perf.drop(columns=["a", "b"]), "bias")


# ----- SBC ------------------------------------------------------------------------------------
def rank_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "method": np.repeat(["brms", "fast"], 100),
        "variable": np.tile(np.repeat(["b", "sigma"], 50), 2),
        "rank": rng.integers(0, 20, 200),
        "max_rank": 19,
    })


def test_rank_histogram_bars_band_and_counts(tmp_path):
    ranks = rank_frame()
    fig = rank_histogram(ranks, method="brms")
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_title() == "b"
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 5  # default bins: max(50 // 10, 5) = 5 bins of 4 ranks
    r = ranks.query("method == 'brms' and variable == 'b'")["rank"].to_numpy()
    expected = [int(((r >= 4 * k) & (r < 4 * k + 4)).sum()) for k in range(5)]
    assert [int(b.get_height()) for b in bars] == expected
    assert [b.get_width() for b in bars] == [4] * 5
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert len(ax.lines) == 1 and np.allclose(ax.lines[0].get_ydata(), 10)  # median count
    assert saved(fig, tmp_path / "hist.png")
    assert len(rank_histogram(ranks, method="fast", bins=10).axes[1].patches) == 10
    with pytest.raises(SpecError, match="method="):
        rank_histogram(ranks)


def test_ecdf_diff_plot_lines_and_bands(tmp_path):
    ranks = rank_frame()
    fig = ecdf_diff_plot(ranks, variables=["sigma", "b"])
    assert [a.get_title() for a in fig.axes] == ["sigma", "b"]
    for ax in fig.axes:
        assert len(ax.lines) == 3  # two methods and the zero line
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert saved(fig, tmp_path / "ecdf.png")
    # unequal numbers of ranks per method: one band per N
    uneven = ranks.drop(ranks.index[(ranks["method"] == "fast")][:10])
    ax = ecdf_diff_plot(uneven).axes[0]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2


def test_ecdf_diff_values_by_hand():
    # ranks 0 0 1 3 4 of max 4 (N = 5 < 50: K = 5): ECDF at z = 0, .2, ..., 1 is
    # 0 .4 .6 .6 .8 1, minus z: 0 .2 .2 0 0 0
    ranks = pd.DataFrame({"variable": "v", "rank": [0, 0, 1, 3, 4]})
    ax = ecdf_diff_plot(ranks, max_rank=4).axes[0]
    step = line(ax, "ranks")
    assert np.allclose(step.get_xdata(), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert np.allclose(step.get_ydata(), [0, 0.2, 0.2, 0, 0, 0])
