"""The rpy2 bridge and brms's build stage, with R but without compiling any Stan program."""

import warnings

import numpy as np
import pandas as pd
import pytest

from pybrms import bridge
from pybrms.cache import program_key
from pybrms.engines import brms as brms_engine
from pybrms.errors import RError, RWarning
from pybrms.spec.rcode import RCall, RFormula

pytestmark = pytest.mark.r


def test_round_trip_types():
    df = pd.DataFrame({"x": [0.1, 2.5e-300, -3.0], "i": [1, 2, 3], "s": ["a", "b", "a"],
                       "b": [True, False, True]})
    r = bridge.to_r(df)
    back = bridge.to_pandas(r)
    np.testing.assert_array_equal(back["x"].to_numpy(), df["x"].to_numpy())  # bit-exact doubles
    assert list(back["s"]) == ["a", "b", "a"] and list(back["b"]) == [True, False, True]
    assert bridge.to_py(bridge.to_r({"a": 1, "b": [1.5, 2.5], "c": "z", "d": None})) == {
        "a": 1, "b": [1.5, 2.5], "c": "z", "d": None}


def test_r_missing_text_becomes_a_missing_value():
    ro = bridge.ensure_r("core")
    df = bridge.to_pandas(ro.r('data.frame(a = c("x", NA), b = c(1, NA), stringsAsFactors = FALSE)'))
    assert list(df["a"].isna()) == [False, True] and df.loc[0, "a"] == "x"
    assert list(df["b"].isna()) == [False, True]


def test_console_capture_restores_rpy2_callbacks():
    from rpy2.rinterface_lib import callbacks

    ro = bridge.ensure_r()
    before = (callbacks.consolewrite_print, callbacks.consolewrite_warnerror)
    with bridge.capture_console() as out:
        ro.r('cat("hello from R\\n")')
    assert "".join(out) == "hello from R\n"
    assert (callbacks.consolewrite_print, callbacks.consolewrite_warnerror) == before
    from rpy2.rinterface_lib.embedded import RRuntimeError

    with pytest.raises(RRuntimeError), bridge.capture_console():
        ro.r('stop("boom")')
    assert (callbacks.consolewrite_print, callbacks.consolewrite_warnerror) == before


def test_r_errors_carry_r_message():
    with pytest.raises(RError) as info:
        bridge.call("pybrms_read_rds", "/nonexistent/file.rds")
    assert "cannot open" in info.value.r_message


def test_r_warnings_become_python_warnings():
    bridge.ensure_r().r("pybrms_test_warn <- function() { warning('careful: x'); 1 }")
    with pytest.warns(RWarning, match="careful: x"):
        bridge.call("pybrms_test_warn")


def test_brms_error_is_raised_before_compile():
    df = pd.DataFrame({"y": [0.1, 0.2, 0.3], "x": [1.0, 2.0, 3.0]})
    # a prior on a coefficient that does not exist: brms rejects it at build time
    with pytest.raises(RError, match="xyz"):
        bridge.call("pybrms_build", RFormula("y ~ x"), df, RCall("gaussian"),
                    [{"prior": "normal(0, 1)", "class": "b", "coef": "xyz", "group": "", "resp": "",
                      "dpar": "", "nlpar": "", "lb": None, "ub": None}], {})


def _code(formula, df, priors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = bridge.call("pybrms_build", RFormula(formula), df, RCall("gaussian"), priors, {})
    return str(bridge.to_py(bridge.call("pybrms_stancode", x)))


def test_default_priors_depend_on_data_so_cache_keys_differ():
    rng = np.random.default_rng(1)
    d1 = pd.DataFrame({"y": rng.normal(10, 2, 50), "x": rng.normal(size=50), "g": np.repeat(list("abcde"), 10)})
    d2 = d1.assign(y=d1["y"] * 3 + 100)
    tc = brms_engine.toolchain()
    c1, c2 = _code("y ~ x + (1 | g)", d1, []), _code("y ~ x + (1 | g)", d2, [])
    assert c1 != c2  # student_t(3, median(y), mad(y)) is written into the Stan code
    assert program_key(c1, tc) != program_key(c2, tc)
    explicit = [{"prior": p, "class": c, "coef": "", "group": "", "resp": "", "dpar": "", "nlpar": "",
                 "lb": None, "ub": None}
                for p, c in [("normal(0, 1e6)", "b"), ("normal(0, 100)", "Intercept"),
                             ("student_t(3, 0, 10)", "sd"), ("student_t(3, 0, 10)", "sigma")]]
    e1, e2 = _code("y ~ x + (1 | g)", d1, explicit), _code("y ~ x + (1 | g)", d2, explicit)
    assert e1 == e2 and "normal_lpdf(b | 0, 1e6)" in e1.replace("1e+06", "1e6")


def test_starting_r_leaves_the_process_loader_path_as_it_was(clean_env):
    """R's start-up sets LD_LIBRARY_PATH (with Debian's libpython in it); the bridge puts it back,
    so programs started afterwards (here: this Python) load their own libraries, while R's
    children still get R's path from R's own start-up script."""
    import os
    import subprocess
    import sys

    bridge.ensure_r()
    assert os.environ.get("LD_LIBRARY_PATH") == clean_env.get("LD_LIBRARY_PATH")
    proc = subprocess.run([sys.executable, "-c", "import ssl, pyarrow"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    ro = bridge.load_rpy2()
    child = ro.r('system2(file.path(R.home("bin"), "Rscript"), '
                 'c("-e", shQuote("cat(Sys.getenv(\'LD_LIBRARY_PATH\'))")), stdout = TRUE)')
    assert "/usr/lib/R/lib" in str(child[0])


def test_r_is_callable_from_any_thread():
    """rpy2 keeps its conversion rules in a context variable a new thread does not inherit;
    the bridge sets them for every call and conversion, so a thread (a web server's, a GUI's,
    a run started in threading.Thread) can call R as the main thread does."""
    import threading

    main = bridge.to_py(bridge.call("pybrms_eval", "list(a = 1L, b = c('x', 'y'))", feature="core"))
    got: dict = {}

    def work() -> None:
        got["value"] = bridge.to_py(bridge.call("pybrms_eval", "list(a = 1L, b = c('x', 'y'))",
                                                feature="core"))
        got["frame"] = bridge.to_pandas(bridge.call("pybrms_eval", "data.frame(z = 1:3)",
                                                    feature="core"))

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    assert got["value"] == main == {"a": 1, "b": ["x", "y"]}
    assert got["frame"]["z"].tolist() == [1, 2, 3]
