"""The one tidy, engine-neutral results schema shared by every engine, comparison and plot.

Each row is one term of one model fitted by one engine. Columns an engine cannot fill are
left missing (NaN), never invented: lme4 has no ``post_prob``, brms no ``p_value``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Column order of a tidy results frame.
TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "conf_level",
    "statistic",
    "p_value",
    "post_prob",
    "evid_ratio",
    "engine",
    "model",
)

_STRING_COLUMNS = ("term", "engine", "model")


def tidy_frame(rows: pd.DataFrame | list[dict]) -> pd.DataFrame:
    """Return ``rows`` as a frame with exactly :data:`TIDY_COLUMNS`, in order.

    Parameters
    ----------
    rows : DataFrame or list of dict
        Records holding some of the schema's columns. Missing numeric columns become NaN.

    Returns
    -------
    DataFrame
        A new frame; numeric columns are float64, ``term``/``engine``/``model`` strings.

    Raises
    ------
    ValueError
        If a column outside the schema is present, or ``term``/``engine`` is missing.
    """
    df = pd.DataFrame(rows).copy()
    extra = [c for c in df.columns if c not in TIDY_COLUMNS]
    if extra:
        raise ValueError(f"columns outside the tidy schema: {extra}")
    for col in ("term", "engine"):
        if col not in df.columns or df[col].isna().any():
            raise ValueError(f"tidy results need a non-missing {col!r} column")
    for col in TIDY_COLUMNS:
        if col not in df.columns:
            df[col] = "" if col == "model" else np.nan
    for col in TIDY_COLUMNS:
        if col in _STRING_COLUMNS:
            df[col] = df[col].astype(str)
        else:
            df[col] = pd.to_numeric(df[col], errors="raise").astype("float64")
    return df.loc[:, list(TIDY_COLUMNS)].reset_index(drop=True)
