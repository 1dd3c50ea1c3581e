"""The data of one replicate: from a Python callable or a declarative model, with its truths.

A callable ``generate(rng, **condition) -> (DataFrame, {term: truth})`` gets a numpy Generator
seeded for the replicate (:mod:`.seeds`) and the condition's values by name; its truths are
keyed by tidy term names (``x``, ``Intercept``, ``sd_g__Intercept``, ``sigma``) or brms's
parameter names (``b_x``), which are read as the same. A declarative model is drawn by
:mod:`.declarative`. Either way the replicate is a pure function of the study's seed, the
condition and the replicate number.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ..errors import SpecError
from ..hashing import data_hash
from ..spec.formula import parse_formula
from . import declarative
from .seeds import DATA, TRUTH, replicate_rng
from .spec import Study


def term_name(name: str) -> str:
    """A truth's key as a tidy term name: brms's ``b_x`` is the term ``x``."""
    return name[2:] if name.startswith("b_") else name


def resolve_callable(generate: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"module:function"`` (or a callable) as the function.

    Raises
    ------
    SpecError
        When the module cannot be imported or has no such function.
    """
    if callable(generate):
        return generate
    module, _, attr = str(generate).partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise SpecError(f"generate {generate!r}: cannot import {module!r}: {exc}") from exc
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise SpecError(f"generate {generate!r}: {module!r} has no function {attr!r}")
    return fn


def replicate_data(study: Study, condition: Mapping[str, Any], rep: int
                   ) -> tuple[pd.DataFrame, dict[str, float]]:
    """The data set and the true values (tidy term names) of one replicate.

    Raises
    ------
    SpecError
        When a callable does not return ``(DataFrame, mapping)``, a truth is not a number,
        or the data lack a column the analysis model uses.
    """
    rng = replicate_rng(study.seed, condition, rep, DATA)
    if study.model is not None:
        prior = (study.sbc or {}).get("prior") if study.sbc is not None else None
        df, truth = declarative.simulate(
            study.model, condition, rng, study.root, prior=prior,
            truth_rng=replicate_rng(study.seed, condition, rep, TRUTH))
        where = "the declarative model"
    else:
        fn = resolve_callable(study.generate)
        where = f"generate {study.generator_label!r}"
        out = fn(rng, **condition)
        if (not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[0], pd.DataFrame)
                or not isinstance(out[1], Mapping)):
            raise SpecError(f"{where} must return (DataFrame, {{term: truth}}), got "
                            f"{type(out).__name__}")
        df, truth = out
    try:
        truths = {term_name(str(k)): float(v) for k, v in truth.items()}
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: true values must be numbers: {exc}") from exc
    return df, truths


def check_columns(study: Study, df: pd.DataFrame, where: str) -> None:
    """Refuse data that lack a column an analysis model uses."""
    for m in study.methods.values():
        formula = m.formula or study.formula
        needed = parse_formula(formula).variables
        missing = sorted(v for v in needed if v not in df.columns)
        if missing:
            raise SpecError(f"{where} returned no column(s) {missing}, which the model "
                            f"{formula!r} of method {m.name!r} uses; columns: {list(df.columns)}")


def describe(df: pd.DataFrame) -> dict[str, Any]:
    """What a record keeps of a replicate's data: rows and hash."""
    return {"n_rows": int(len(df)), "data_hash": data_hash(df)}


