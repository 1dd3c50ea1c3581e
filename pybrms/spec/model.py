"""``FitSpec``: one model to fit (formula, family, priors, data), checked once for every engine.

Engines receive a :class:`FitSpec` and never re-parse or re-validate: building one parses the
formula and family, normalises the priors and runs the one data validator
(:func:`pybrms.spec.validate.validate_data`). Pure Python; R is not started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from ..errors import DataError, SpecError
from ..hashing import data_hash
from .families import Family, parse_family
from .formula import Formula, parse_formula
from .priors import Prior
from .rcode import RCode, RExpr
from .validate import validate_data

#: what ``prior=`` takes: pybrms.prior(...) objects, R code such as
#: ``"prior(normal(0, 5), class = b) + prior(exponential(1), class = sd)"``, or a list of both
PriorInput = Prior | RExpr | str | Sequence[Prior | RExpr | str] | None


def normalize_priors(prior: PriorInput) -> tuple[Prior | RExpr, ...]:
    """``prior`` as a tuple of :class:`Prior` and R prior expressions, each checked.

    A string is R code for a brmsprior (``"prior(normal(0, 5), class = b)"``,
    ``"set_prior('normal(0, 5)', class = 'b')"``, ``"c(prior(...), prior(...))"``), evaluated by
    brms; :func:`pybrms.prior` objects are checked here.

    Raises
    ------
    SpecError
        If an item is neither a :class:`Prior`, an R expression nor R code.
    """
    if prior is None:
        items: list = []
    elif isinstance(prior, (Prior, RExpr, str)):
        items = [prior]
    else:
        items = list(prior)
    out: list[Prior | RExpr] = []
    for p in items:
        if isinstance(p, str):
            p = RCode(p)
        if not isinstance(p, (Prior, RExpr)):
            raise SpecError(f"priors must be made with pybrms.prior(...) or be R code such as "
                            f"'prior(normal(0, 5), class = b)', got {p!r}")
        out.append(p)
    return tuple(out)


@dataclass(frozen=True, eq=False)
class FitSpec:
    """A validated model: what every engine's ``check`` and ``fit`` take.

    Attributes
    ----------
    formula : Formula
        The parsed brms formula (``formula.text`` is the text as given).
    family : Family
        The parsed brms family.
    priors : tuple of Prior
        Priors for the engines that use them (brms); empty means brms's defaults.
    data : DataFrame
        For one plain formula: only the columns it uses, in sorted order; for brms's model
        language (``bf()``, ``mvbind()``...): every column, in the given order (brms picks
        what it uses). A fresh RangeIndex either way.
    """

    formula: Formula
    family: Family
    priors: tuple[Prior | RExpr, ...] = ()
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @classmethod
    def build(
        cls,
        formula: str | RExpr | Formula,
        data: pd.DataFrame,
        family: str | RExpr | Family = "gaussian",
        prior: PriorInput = None,
        *,
        source: str | None = None,
        line_numbers: Sequence[int] | None = None,
    ) -> FitSpec:
        """Parse, normalise and validate; the one entry point for brm(), fit() and the CLI.

        Parameters
        ----------
        formula : str or Formula
            A brms formula.
        data : DataFrame
            The data.
        family : str or Family
            A brms family.
        prior : Prior or sequence of Prior, optional
            Made with :func:`pybrms.prior`.
        source : str, optional
            The file the data came from, named in data errors.
        line_numbers : sequence of int, optional
            File line of each data row, for data errors.

        Raises
        ------
        SpecError
            For a malformed formula, family or prior.
        DataError
            For data that cannot feed the formula (naming column, row and value).
        """
        parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
        fam = parse_family(family)
        priors = normalize_priors(prior)
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        validate_data(parsed, fam, data, source=source, line_numbers=line_numbers)
        used = sorted(parsed.variables) if parsed.is_plain else []
        frame = (data.loc[:, used] if used else data).reset_index(drop=True)
        return cls(formula=parsed, family=fam, priors=priors, data=frame)

    @classmethod
    def without_data(
        cls,
        formula: str | RExpr | Formula,
        family: str | RExpr | Family = "gaussian",
        prior: PriorInput = None,
    ) -> FitSpec:
        """A spec of the model's structure only, for engines' ``check`` before data exist
        (a run plan); engines' ``fit`` needs a spec made by :meth:`build`.
        """
        parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
        return cls(formula=parsed, family=parse_family(family), priors=normalize_priors(prior))

    @cached_property
    def data_hash(self) -> str:
        """SHA-256 of the used columns (values, names, dtypes)."""
        return data_hash(self.data)

    def __repr__(self) -> str:
        return (f"FitSpec({self.formula.text!r}, family={self.family.r_call()!r}, "
                f"priors={len(self.priors)}, rows={len(self.data)})")
