"""Data frames reach R as R holds them: ``identical()`` to rpy2's column-by-column conversion
(what pybrms did before text went as codes) and to ``read.csv`` of the same content.

Text columns cross as integer codes plus their unique strings, rebuilt in R by indexing;
numbers and logicals as memory. The R object must not change: ``NA_character_`` for a missing
string (never ``"nan"``), empty strings kept, UTF-8 kept, factors with their declared levels,
zero-row frames and mixed-type columns as before.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from pybrms import bridge
from pybrms.bridge.convert import _df_to_r, _r_helpers

pytestmark = pytest.mark.r


def _rpy2_frame(df: pd.DataFrame):
    """pybrms's conversion before codes: every column through rpy2's pandas converter."""
    from rpy2.robjects import default_converter, pandas2ri
    from rpy2.robjects.conversion import localconverter

    clean = df.copy()
    clean.columns = [str(c) for c in clean.columns]
    for col in clean.columns:
        s = clean[col]
        if pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            clean[col] = s.astype(object)
    clean = clean.reset_index(drop=True)
    with localconverter(default_converter + pandas2ri.converter):
        out = pandas2ri.py2rpy(clean)
    return _r_helpers()["as_r_frame"](out)


def _identical(a, b) -> bool:
    ro = bridge.ensure_r("core")
    return bool(ro.r["identical"](a, b)[0])


def _dput(x) -> str:
    ro = bridge.ensure_r("core")
    return "".join(ro.r("function(x) capture.output(dput(x))")(x))


def _mixed_frame(n: int = 9) -> pd.DataFrame:
    text = ["user1", "Ärger", None, "", "user1", np.nan, "日本", "NA", "user1"]
    return pd.DataFrame({
        "text": (text * (n // 9 + 1))[:n],
        "string_dtype": pd.array((["b", None, "a"] * n)[:n], dtype="string"),
        "int": np.arange(n, dtype=np.int64) - 3,
        "int32": np.arange(n, dtype=np.int32),
        "double": np.where(np.arange(n) % 4 == 1, np.nan, np.linspace(-1e300, 2.5e-300, n)),
        "logical": np.arange(n) % 3 == 0,
        "logical_na": pd.array(([True, None, False] * n)[:n], dtype="boolean"),
        "logical_na_object": ([True, None, False] * n)[:n],
        "factor": pd.Categorical((["lo", "hi", None] * n)[:n], categories=["hi", "lo", "unused"]),
        "ordered": pd.Categorical((["b", "a", "c"] * n)[:n], categories=["c", "b", "a"],
                                  ordered=True),
        "one_value": ["same"] * n,
        "text_nan_first": ([np.nan, "x", "y"] * n)[:n],
    }, index=np.arange(n)[::-1] * 7)  # an index R must not see


FRAMES = {
    "mixed": _mixed_frame(),
    "mixed, 2000 rows": _mixed_frame(2000),
    "zero rows": _mixed_frame().iloc[:0],
    "one unique text value": pd.DataFrame({"g": ["only"] * 5, "y": [1.0, 2.0, 3.0, 4.0, 5.0]}),
    "all text missing": pd.DataFrame({"g": [None, np.nan], "y": [1, 2]}),
    "mixed types and wide integers": pd.DataFrame({
        "mixed": [1, "a", None], "bytes": ["a", b"b", "c"], "big": [1, 2**40, 3],
        "uint": np.array([1, 2, 3], dtype="uint32"), "float32": np.array([1.5, np.nan, 3],
                                                                          dtype="float32"),
        "nat": ["a", pd.NaT, "b"], "np_str": [np.str_("a"), "b", np.str_("a")],
        "int_na": pd.array([1, None, 3], dtype="Int64"), "int_min": [-(2**31), 0, 2**31 - 1],
        "dates": pd.to_datetime(["2020-01-01", None, "2021-06-30"]),
        "int_categories": pd.Categorical([1, 2, 1]),
    }),
    "non-string column names": pd.DataFrame({0: ["a", "b"], "x y": [1.0, 2.0]}),
    "a repeated column name": pd.DataFrame([["a", 1.0, "b"]], columns=["x", "y", "x"]),
    "rows but no columns": pd.DataFrame(index=range(3)),
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_frame_is_identical_to_rpy2_conversion(name):
    df = FRAMES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rpy2 warns on the columns it falls back to text for
        old, new = _rpy2_frame(df), _df_to_r(df)
    assert _identical(old, new), f"{name}:\nrpy2:  {_dput(old)}\ncodes: {_dput(new)}"


def test_text_and_missing_values_as_r_reads_them(tmp_path):
    """The same content written as CSV and read by ``read.csv`` is ``identical()``."""
    df = _mixed_frame(18)[["text", "int", "double", "logical", "logical_na", "one_value"]]
    df = df[df["text"] != "NA"]  # a CSV cannot tell the string "NA" from a missing value
    path = tmp_path / "frame.csv"
    # R's own spelling: NA for missing, TRUE/FALSE, "" for the empty string, 17 digits
    as_written = df.assign(**{c: df[c].map({True: "TRUE", False: "FALSE"})
                              for c in ("logical", "logical_na")})
    as_written.to_csv(path, index=False, na_rep="NA", float_format="%.17g", encoding="utf-8")
    ro = bridge.ensure_r("core")
    golden = ro.r(f'read.csv("{path}", encoding = "UTF-8")')
    new = _df_to_r(df)
    assert _identical(golden, new), f"read.csv: {_dput(golden)}\ncodes: {_dput(new)}"
    # the parts that matter, spelled out
    assert list(ro.r("function(d) is.na(d$text)")(new))[:8] == [
        False, False, True, False, False, True, False, False]
    assert list(ro.r("function(d) d$text[c(1, 2, 4, 7)]")(new)) == ["user1", "Ärger", "", "日本"]
    assert list(ro.r("function(d) sapply(d, class)")(new)) == [
        "character", "integer", "numeric", "logical", "logical", "character"]


def test_missing_text_is_na_not_the_string_nan():
    r = _df_to_r(pd.DataFrame({"g": ["a", None, np.nan, pd.NA, "nan"]}))
    ro = bridge.ensure_r("core")
    assert list(ro.r("function(d) is.na(d$g)")(r)) == [False, True, True, True, False]
    assert list(ro.r("function(d) sum(d$g == 'nan', na.rm = TRUE)")(r)) == [1]


def test_text_becomes_factors_with_r_sorted_levels():
    """R still makes the factors (lme4's grouping): levels in R's sort order, not pandas'."""
    df = pd.DataFrame({"g": ["b10", "B2", "a", "b10", "10", "9"]})
    ro = bridge.ensure_r("core")
    levels = ro.r("function(d) levels(factor(d$g))")(_df_to_r(df))
    assert list(levels) == list(ro.r('levels(factor(c("b10", "B2", "a", "b10", "10", "9")))'))


def test_large_text_columns_go_as_codes():
    """A 30k-row frame with three id columns crosses far faster than one string at a time."""
    import time

    rng = np.random.default_rng(3)
    n = 30_000
    df = pd.DataFrame({"user": [f"user{i}" for i in rng.integers(0, 1500, n)],
                       "conv": [f"c{i}" for i in rng.integers(0, 8000, n)],
                       "model": [f"m{i}" for i in rng.integers(0, 20, n)],
                       "y": rng.normal(size=n)})
    _df_to_r(df.head())  # R started, helpers made
    t0 = time.perf_counter()
    new = _df_to_r(df)
    codes_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    old = _rpy2_frame(df)
    rpy2_s = time.perf_counter() - t0
    assert _identical(old, new)
    assert codes_s < rpy2_s / 4, (codes_s, rpy2_s)
