"""The analysis specs' schema: a model, the table it is reported in, an ambiguity, an analysis.

Frozen dataclasses, built by :mod:`.spec` from the ``comparisons/*.toml`` files and read by the
plan, the runner and the report. Pure Python: no TOML, no R.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ....errors import SpecError
from ....spec.families import Family, parse_family
from ....spec.formula import parse_formula
from ....spec.hypotheses import Hypothesis
from ....spec.priors import Prior
from ....spec.terms import fixed_terms
from ..published import CONVO_TYPE_LABELS, EXTRA_COLUMN

#: The conversation types a model may be fitted on: ``all`` (no filter), then PRISM's
#: (:data:`pybrms.papers.kyrychenko2025.prism.CONVERSATION_TYPES`). Their Table 2 labels are
#: :data:`CONVO_TYPE_LABELS` (from :mod:`pybrms.papers.kyrychenko2025.published`).
CONVO_TYPES: tuple[str, ...] = tuple(CONVO_TYPE_LABELS)
#: Conversation type -> suffix of an expanded model's name (its first word: ``1a_values``).
CONVO_TYPE_SLUGS: dict[str, str] = {t: t.split()[0] for t in CONVO_TYPES}
#: Published table -> the columns that identify one of its rows.
TABLE_ROW_KEYS: dict[str, tuple[str, ...]] = {
    table: ("analysis", "term", "direction", *((extra,) if extra else ()))
    for table, extra in EXTRA_COLUMN.items()
}


@dataclass(frozen=True)
class TableRef:
    """Where a model's hypotheses are (or would be) reported in the paper.

    Attributes
    ----------
    table : str
        ``table2``, ``table3`` or ``table4`` (the files in ``comparisons/published``).
    analysis : str
        The value of the table's ``analysis`` column for this model's rows.
    row_keys : tuple of str
        The columns that identify a row (see :data:`TABLE_ROW_KEYS`).
    """

    table: str
    analysis: str
    row_keys: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One brms model of an analysis.

    Attributes
    ----------
    name : str
        Unique across all analyses (after :func:`expand_convo_types`).
    analysis : str
        Id of the analysis the model belongs to.
    formula : str
        brms formula, handed to brms unchanged.
    family : str
        brms family name, one of :data:`pybrms.spec.families.FAMILIES` (with its default
        link: ``bernoulli`` uses the logit, ``gaussian`` the identity); see :attr:`brms_family`.
    frame : str
        The analysis frame the data pipeline builds (``1a``, ``1b``, ``2`` or ``3``).
    convo_types : tuple of str
        Conversation types to fit on: ``all`` (no filter) or PRISM ``conversation_type``
        values. One model is fitted per type (see :func:`expand_convo_types`).
    priors : tuple of Prior
        Explicit priors (``p.prior``, ``p.class_``); classes not listed keep brms's defaults.
    chains, iter, warmup, seed : int
        Passed to ``brms::brm()``; ``iter`` includes the warm-up.
    hypotheses : tuple of Hypothesis
        The hypotheses tested on the fit, each ``coefficient op number-or-coefficient``
        (``h.left``, ``h.op``, ``h.right``); ``h.published`` is False for those the paper
        does not report.
    published : TableRef or None
        The table reporting the published hypotheses.
    compare_with : TableRef or None
        For robustness models: the published rows the results should resemble.
    role : str
        ``primary``, ``robustness`` or ``loo``.
    description : str
        Free text.
    """

    name: str
    analysis: str
    formula: str
    family: str
    frame: str
    convo_types: tuple[str, ...]
    priors: tuple[Prior, ...]
    chains: int
    iter: int
    warmup: int
    seed: int
    hypotheses: tuple[Hypothesis, ...] = ()
    published: TableRef | None = None
    compare_with: TableRef | None = None
    role: str = "primary"
    description: str = ""

    @property
    def draws(self) -> int:
        """Post-warm-up draws per chain (``iter - warmup``)."""
        return self.iter - self.warmup

    @property
    def total_draws(self) -> int:
        """Post-warm-up draws over all chains: the largest finite evidence ratio plus one."""
        return self.chains * self.draws

    @property
    def brms_family(self) -> Family:
        """The family with its default link (:func:`~pybrms.spec.families.parse_family`)."""
        return parse_family(self.family)

    @property
    def response(self) -> str:
        """The response column (left of ``~``)."""
        return parse_formula(self.formula).response

    @property
    def fixed_terms(self) -> tuple[tuple[str, ...], ...]:
        """Population-level terms as variable tuples, e.g. ``("younger", "TOXICITY")``."""
        return fixed_terms(self.formula)

    def fit_key(self) -> tuple[Any, ...]:
        """Return everything that determines the fit; equal keys mean the same posterior."""
        return (self.formula, self.family, self.frame, self.convo_types, self.priors,
                self.chains, self.iter, self.warmup, self.seed)

    def published_keys(self, ref: TableRef | None = None) -> list[dict[str, str]]:
        """Return the published-table row key of each published hypothesis.

        Parameters
        ----------
        ref : TableRef, optional
            The table to key against; defaults to :attr:`published`. Pass
            :attr:`compare_with` for a robustness model.

        Returns
        -------
        list of dict
            One dict per published hypothesis, with ``table`` and the table's row keys
            (``convo_type`` as printed in Table 2, ``dv`` the model's response).

        Raises
        ------
        SpecError
            If there is no table to key against, or the model spans several conversation
            types while the table is keyed by conversation type (expand it first).
        """
        ref = ref if ref is not None else self.published
        if ref is None:
            raise SpecError(f"model {self.name!r} has no published table")
        if "convo_type" in ref.row_keys and len(self.convo_types) != 1:
            raise SpecError(
                f"model {self.name!r} spans {len(self.convo_types)} conversation types; "
                "call expand_convo_types() first"
            )
        keys = []
        for h in self.hypotheses:
            if not h.published:
                continue
            key = {"table": ref.table, "analysis": ref.analysis, "term": h.left,
                   "direction": h.op}
            if "convo_type" in ref.row_keys:
                key["convo_type"] = CONVO_TYPE_LABELS[self.convo_types[0]]
            if "dv" in ref.row_keys:
                key["dv"] = self.response
            keys.append(key)
        return keys


@dataclass(frozen=True)
class Ambiguity:
    """A point the paper leaves open and the choice the spec makes.

    Attributes
    ----------
    key : str
        Short id, e.g. ``reasoning_nuance``.
    choice : str
        The option used.
    alternatives : tuple of str
        The other readings, which a sensitivity run may use instead.
    description : str
        Why the paper is ambiguous and why this choice.
    """

    key: str
    choice: str
    alternatives: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class LooComparison:
    """An ELPD (PSIS-LOO) comparison between two models of the same analysis.

    Attributes
    ----------
    name : str
        Id of the comparison.
    models : tuple of str
        ``(model_with, model_without)``: the paper's expectation is ``elpd(with) > elpd(without)``.
    published_elpd_diff, published_se : float or None
        The difference and its SE reported by the paper, where it reports them.
    description : str
        Free text.
    """

    name: str
    models: tuple[str, str]
    published_elpd_diff: float | None = None
    published_se: float | None = None
    description: str = ""


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis file.

    Attributes
    ----------
    id : str
        ``1a``, ``1b``, ``interaction_toxicity``, ``2``, ``3`` or ``supplement``.
    title, source : str
        Human-readable title and where in the paper it comes from.
    path : Path
        The file it was loaded from.
    models : tuple of ModelSpec
        As written (a model may span several conversation types).
    ambiguities : dict of str to Ambiguity
        The choices made where the paper is ambiguous.
    loo : tuple of LooComparison
        ELPD comparisons (the supplement).
    """

    id: str
    title: str
    source: str
    path: Path
    models: tuple[ModelSpec, ...]
    ambiguities: dict[str, Ambiguity] = field(default_factory=dict)
    loo: tuple[LooComparison, ...] = ()

    def expanded(self) -> list[ModelSpec]:
        """Return the models with one model per conversation type."""
        return [m for model in self.models for m in expand_convo_types(model)]

    def model(self, name: str) -> ModelSpec:
        """Return the (expanded) model called ``name``.

        Raises
        ------
        KeyError
            If there is no such model.
        """
        for m in self.expanded():
            if m.name == name:
                return m
        raise KeyError(f"analysis {self.id!r} has no model {name!r}")


def expand_convo_types(model: ModelSpec) -> list[ModelSpec]:
    """Split a model over its conversation types: one model per type.

    A model with a single type is returned unchanged; otherwise each copy is named
    ``<name>_<slug>`` (``1a_all``, ``1a_unguided``, ``1a_values``, ``1a_controversy``).

    Parameters
    ----------
    model : ModelSpec
        A model, possibly spanning several conversation types.

    Returns
    -------
    list of ModelSpec
    """
    if len(model.convo_types) == 1:
        return [model]
    return [
        replace(model, name=f"{model.name}_{CONVO_TYPE_SLUGS[t]}", convo_types=(t,))
        for t in model.convo_types
    ]
