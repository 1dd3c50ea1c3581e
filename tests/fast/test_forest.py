"""The forest plot, checked on its axes, labels and points (no R: hand-built tidy frames)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from pybrms.plots.forest import forest_plot  # noqa: E402
from pybrms.results import tidy_frame  # noqa: E402

MODEL = "y ~ x1 + x2 + (1 | g)"


def _tidy():
    rows = []
    for engine, shift in (("brms", 0.0), ("lme4", -0.05), ("statsmodels-vb", 0.03)):
        for term, est, se in (("Intercept", -0.7, 0.3), ("x1", 0.9, 0.18), ("x2", -1.1, 0.5)):
            e = est + shift
            rows.append({"term": term, "estimate": e, "std_error": se, "conf_low": e - 2 * se,
                         "conf_high": e + 2 * se, "conf_level": 0.95, "engine": engine,
                         "model": MODEL})
    return tidy_frame(rows)


@pytest.fixture
def fig():
    f = forest_plot(_tidy())
    yield f
    plt.close(f)


def _containers(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_axes_labels_and_terms(fig):
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Intercept", "x1", "x2"]
    # first term on top
    ticks = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks(), strict=True))
    assert ticks["Intercept"] > ticks["x1"] > ticks["x2"]
    assert ax.get_xlabel() == "Estimate (95% interval)" and ax.get_ylabel() == "Term"
    assert ax.get_title() == MODEL
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "Engine"
    assert [t.get_text() for t in legend.get_texts()] == ["brms", "lme4", "statsmodels-vb"]


def test_one_point_and_interval_per_engine_and_term(fig):
    (ax,) = fig.axes
    conts = _containers(ax)
    assert [c.get_label() for c in conts] == ["brms", "lme4", "statsmodels-vb"]
    total = 0
    for c in conts:
        x, y = c.lines[0].get_data()
        assert len(x) == 3  # one point per term
        total += len(x)
        # the interval segments span conf_low..conf_high
        segs = c.lines[2][0].get_segments()
        widths = sorted(round(float(s[1][0] - s[0][0]), 9) for s in segs)
        assert widths == [0.72, 1.2, 2.0]
    assert total == 9
    # engines are dodged: the three points of term x1 sit at three distinct heights near its tick
    ys = sorted(float(c.lines[0].get_data()[1][1]) for c in conts)
    assert len(set(ys)) == 3 and ys[-1] - ys[0] == pytest.approx(0.6)
    brms_x = conts[0].lines[0].get_data()[0]
    np.testing.assert_allclose(brms_x, [-0.7, 0.9, -1.1])


def test_zero_line(fig):
    (ax,) = fig.axes
    zero = [ln for ln in ax.lines if list(ln.get_xdata()) == [0.0, 0.0]]
    assert len(zero) == 1


def test_missing_estimates_dropped_and_subsets():
    t = _tidy()
    t.loc[(t.engine == "lme4") & (t.term == "x2"), "estimate"] = np.nan
    f = forest_plot(t, terms=["x2", "x1"], engines=["lme4", "brms"])
    (ax,) = f.axes
    assert [tk.get_text() for tk in ax.get_yticklabels()] == ["x2", "x1"]
    conts = _containers(ax)
    assert [c.get_label() for c in conts] == ["lme4", "brms"]
    assert [len(c.lines[0].get_data()[0]) for c in conts] == [1, 2]
    plt.close(f)


@pytest.mark.parametrize("ext,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_saves_by_extension(tmp_path, ext, magic):
    path = tmp_path / "sub" / f"forest{ext}"
    f = forest_plot(_tidy(), path)
    plt.close(f)
    assert path.read_bytes()[: len(magic)] == magic


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="'.jpg'"):
        forest_plot(_tidy(), tmp_path / "f.jpg")
    with pytest.raises(ValueError, match="no term 'x9'"):
        forest_plot(_tidy(), terms=["x9"])
    with pytest.raises(ValueError, match="no engine 'stan'"):
        forest_plot(_tidy(), engines=["stan"])
    empty = _tidy().assign(estimate=np.nan)
    with pytest.raises(ValueError, match="nothing to plot"):
        forest_plot(empty)


def test_extra_columns_ignored():
    # the comparison table (schema + agreement columns) plots as it is
    f = forest_plot(_tidy().assign(diff_se_units=0.5, sign_agrees=True))
    assert len(_containers(f.axes[0])) == 3
    plt.close(f)


def test_legend_title_and_xlabel_can_be_set():
    import matplotlib.pyplot as plt

    f = forest_plot(_tidy(), legend_title="DV", xlabel="Mean probability")
    ax = f.axes[0]
    assert ax.get_xlabel() == "Mean probability"
    assert ax.get_legend().get_title().get_text() == "DV"
    plt.close(f)
