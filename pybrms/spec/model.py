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
from .validate import validate_data


def normalize_priors(prior: Prior | Sequence[Prior] | None) -> tuple[Prior, ...]:
    """``prior`` as a tuple of :class:`Prior`, each checked.

    Raises
    ------
    SpecError
        If an item was not made with :func:`pybrms.prior`.
    """
    items = [] if prior is None else [prior] if isinstance(prior, Prior) else list(prior)
    for p in items:
        if not isinstance(p, Prior):
            raise SpecError(f"priors must be made with pybrms.prior(...), got {p!r}")
    return tuple(items)


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
        Only the columns the formula uses, in sorted order, with a fresh RangeIndex.
    """

    formula: Formula
    family: Family
    priors: tuple[Prior, ...] = ()
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @classmethod
    def build(
        cls,
        formula: str | Formula,
        data: pd.DataFrame,
        family: str | Family = "gaussian",
        prior: Prior | Sequence[Prior] | None = None,
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
        used = sorted(parsed.variables)
        frame = (data.loc[:, used] if used else data).reset_index(drop=True)
        return cls(formula=parsed, family=fam, priors=priors, data=frame)

    @classmethod
    def without_data(
        cls,
        formula: str | Formula,
        family: str | Family = "gaussian",
        prior: Prior | Sequence[Prior] | None = None,
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
