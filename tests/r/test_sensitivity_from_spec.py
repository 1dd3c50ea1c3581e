"""``pybrms sensitivity --from comparisons/analysis_1b.toml --data demo --quick`` (lme4 side).

The grid comes from the spec's declared ambiguities plus the standard prior and random-effect
axes; ``--quick`` varies one axis at a time. With lme4 the numbers are checkable exactly:
log10(score) = log(score) / log(10) scales every coefficient of the linear mixed model by
1 / log(10), and lme4 takes no prior, so the prior cells share the base cell's fit (fitted
once, a row per cell in cells.csv). (brms's side of
the same grid needs seven Stan programs; its curve and summary are in examples/grids/results/,
shown in the docs' Sensitivity grids page.)
"""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = pytest.mark.r

CMD = [sys.executable, "-m", "pybrms.cli", "sensitivity", "--from",
       "pybrms/papers/kyrychenko2025/comparisons/analysis_1b.toml", "--data", "demo", "--quick"]
BASE = "natural_log__product__b__spec__spec"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sens-from")
    proc = subprocess.run([*CMD, "--engines", "lme4", "--out", str(out)], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_the_spec_grid_has_its_ambiguities_and_standard_axes(run):
    out, proc = run
    df = pd.read_csv(out / "cells.csv")
    for axis in ("log_transform", "reasoning_nuance", "prior_classes", "prior",
                 "random_effects"):
        assert axis in df.columns
    assert df["cell"].nunique() == 9  # one at a time: the spec's cell and 8 alternatives
    assert set(df["prior"]) == {"spec", "brms_default", "normal_0_1", "student_t_3_0_2.5"}
    assert "ambiguity 'seed' not varied" in (out / "summary.md").read_text()
    for name in ("specification_curve.png", "specification_curve.pdf", "summary.html",
                 "summary.tex"):
        assert (out / name).stat().st_size > 1000
    summary = (out / "summary.md").read_text()
    # lme4 takes no priors: the 5 cells that change only the priors share the spec cell's fit
    assert "9 cell(s), 4 fit(s) for 9 cell x engine pair(s)" in summary
    assert "lme4: 4 fit(s) for 9 cell(s): it takes no priors" in summary


def test_lme4_numbers_follow_the_choices_exactly(run):
    out, _ = run
    df = pd.read_csv(out / "cells.csv")
    fixed = df[(df["engine"] == "lme4") & (df["effect"] == "fixed")]
    est = fixed.set_index(["cell", "term"])["estimate"]
    base = est[BASE]
    log10 = est["log10__product__b__spec__spec"]
    slopes = [t for t in base.index if t != "Intercept"]
    for t in slopes:
        assert log10[t] == pytest.approx(base[t] / math.log(10), rel=1e-4, abs=1e-6)
    for cell in ("natural_log__product__b__normal_0_1__spec",
                 "natural_log__product__b+Intercept__spec__spec"):
        assert est[cell].to_numpy() == pytest.approx(base.to_numpy(), rel=1e-6)
    mean = est["natural_log__mean__b__spec__spec"]
    # the mean and the product are different predictors: the estimate moves (0.012 on the
    # calibrated bundled data), far beyond the 1e-6 that equal fits differ by
    assert abs(mean["REASONING_NUANCE"] - base["REASONING_NUANCE"]) > 0.005
    user_only = df[(df["cell"] == "natural_log__product__b__spec__user_only")
                   & (df["engine"] == "lme4")]
    assert not user_only["term"].str.contains("model_name").any()
    assert user_only["term"].str.contains("user_id").any()
