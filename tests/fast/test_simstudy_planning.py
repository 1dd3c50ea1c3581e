"""Replicates needed for a target Monte Carlo SE (Morris, White & Crowther 2019, Section 5.3)."""

from __future__ import annotations

import math

import pytest

from pybrms.errors import SpecError
from pybrms.simstudy.planning import canonical_measure, parse_target, replicates_needed


def test_coverage_example_of_morris_et_al():
    # 0.95 x 0.05 / 0.005^2 = 0.0475 / 0.000025 = 1900; in floating point 1 - 0.95 is
    # 0.05000000000000004 and the quotient 1900.0000000000016, which must not round up to 1901
    assert 0.95 * (1 - 0.95) / 0.005**2 > 1900
    assert replicates_needed("coverage", 0.005) == 1900
    assert replicates_needed("cover", 0.005, level=0.9) == 3600  # .09 / .000025
    # worst case p = 0.5: .25 / .000025 = 10000
    assert replicates_needed("cover", 0.005, expected=0.5) == 10000
    assert replicates_needed("becover", 0.01, expected=0.8) == 1600  # .16 / .0001


def test_power_defaults_to_the_worst_case():
    assert replicates_needed("power", 0.01) == 2500  # .25 / .0001
    assert replicates_needed("power", 0.01, expected=0.8) == 1600
    # rounding up: .9 x .1 / .007^2 = 1836.73...
    assert replicates_needed("power", 0.007, expected=0.9) == 1837


def test_bias_rbias_empse_modelse_closed_forms():
    assert replicates_needed("bias", 0.01, empse=0.2) == 400  # .04 / .0001
    assert replicates_needed("bias", 0.003, empse=0.2) == 4445  # 4444.4...
    # rbias: (0.2 / 0.5)^2 / 0.02^2 = 0.16 / 0.0004 = 400
    assert replicates_needed("relative_bias", 0.02, empse=0.2, truth=0.5) == 400
    # empse: 1 + 0.04 / (2 x 0.0001) = 201; check the MCSE formula gives the target there
    n = replicates_needed("empse", 0.01, empse=0.2)
    assert n == 201 and math.isclose(0.2 / math.sqrt(2 * (n - 1)), 0.01)
    # modelse: var(se^2) / (4 modelse^2 m^2) = 0.0004 / (4 x 0.04 x 0.000025) = 100
    assert replicates_needed("modelse", 0.005, modelse=0.2, var_se2=0.0004) == 100


def test_pilot_scaling():
    # MCSE 0.02 with 100 reps, target 0.01: four times as many
    assert replicates_needed("mse", 0.01, pilot_mcse=0.02, pilot_n=100) == 400
    assert replicates_needed("relerror", 1.0, pilot_mcse=3.0, pilot_n=50) == 450
    # empse scales with n - 1: 1 + 99 x 4 = 397
    assert replicates_needed("empse", 0.01, pilot_mcse=0.02, pilot_n=100) == 397
    with pytest.raises(SpecError, match="not both"):
        replicates_needed("bias", 0.01, empse=0.2, pilot_mcse=0.02, pilot_n=100)
    with pytest.raises(SpecError, match="pilot_n"):
        replicates_needed("mse", 0.01, pilot_mcse=0.02)


def test_missing_inputs_are_named():
    with pytest.raises(SpecError, match="empse"):
        replicates_needed("bias", 0.01)
    with pytest.raises(SpecError, match="pilot"):
        replicates_needed("mse", 0.01)
    with pytest.raises(SpecError, match="pilot"):
        replicates_needed("rmse", 0.01)
    with pytest.raises(SpecError, match="truth"):
        replicates_needed("rbias", 0.01, empse=0.2, truth=0.0)
    with pytest.raises(SpecError, match="var_se2"):
        replicates_needed("modelse", 0.01, modelse=0.2)
    with pytest.raises(SpecError, match="target_mcse"):
        replicates_needed("cover", 0.0)
    with pytest.raises(SpecError, match=r"\(0, 1\)"):
        replicates_needed("power", 0.01, expected=1.2)


def test_parse_target():
    assert parse_target("coverage=0.005") == ("cover", 0.005)
    assert parse_target(" Relative-Bias = 0.01 ") == ("rbias", 0.01)
    assert parse_target("empse=1e-3") == ("empse", 0.001)
    assert parse_target("power=0.01") == ("power", 0.01)
    assert parse_target("becover=0.01") == ("becover", 0.01)
    assert canonical_measure("Bias_Eliminated_Coverage") == "becover"
    for bad, msg in [("coverage", "MEASURE=MCSE"), ("accuracy=0.1", "unknown"),
                     ("bias=abc", "not a number"), ("bias=-1", "positive"),
                     ("bias=nan", "positive")]:
        with pytest.raises(SpecError, match=msg):
            parse_target(bad)
