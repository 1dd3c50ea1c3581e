"""The run plan of ``pybrms replicate``: which models, which engines, which settings.

Pure Python (no R). The plan expands every analysis spec over its conversation types, merges
models whose fits are identical (equal :meth:`ModelSpec.fit_key`, e.g. the supplement's
``loo_1a_with_llm`` and ``1a_all``) into one unit per engine, and records every departure from
the specs (``--quick``, overridden ambiguities) as a deviation for the report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ....engines import ENGINES as REGISTRY
from ....engines import capabilities, engines_where, get_engine
from ....errors import EngineError, SpecError
from ....spec.model import FitSpec
from ..resources import comparisons_dir
from .schema import CONVO_TYPES, AnalysisSpec, ModelSpec
from .spec import load_all

#: Engines ``pybrms replicate`` knows, and those it runs unless told otherwise.
#: Every registered engine may be asked for; by default the exact ones run (brms, and lme4
#: beside it), in registry order.
ENGINES: tuple[str, ...] = tuple(REGISTRY)
DEFAULT_ENGINES: tuple[str, ...] = tuple(engines_where(exact=True))
#: ``--analyses`` tokens -> analysis ids of ``comparisons/`` (``interaction`` is short for
#: ``interaction_toxicity``, which the paper reports in Table 2 with Analysis 1b).
ANALYSIS_ALIASES: dict[str, str] = {"interaction": "interaction_toxicity"}
#: ``--quick``: 4 chains (enough for Rhat) with 250 warm-up and 250 draws each.
QUICK = {"chains": 4, "warmup": 250, "draws": 250}
#: The frame-building choices every analysis spec must settle, and their option names.
FRAME_CHOICES: dict[str, str] = {"reasoning_nuance": "reasoning_nuance", "highest_ties": "ties"}
#: Bump when the checkpoint contents change, so old checkpoints are refitted, not misread.
CHECKPOINT_VERSION = 2




@dataclass(frozen=True)
class Unit:
    """One fit: a model (possibly standing for several identical specs) with one engine.

    Attributes
    ----------
    model : ModelSpec
        The model as fitted (after ``--quick``).
    engine : str
        ``brms``, ``lme4`` or ``statsmodels``.
    aliases : tuple of ModelSpec
        Every spec this fit stands for (``model`` first); they share one fit key.
    """

    model: ModelSpec
    engine: str
    aliases: tuple[ModelSpec, ...]

    @property
    def name(self) -> str:
        """``<model>__<engine>``: the checkpoint's file stem."""
        return f"{self.model.name}__{self.engine}"

    @property
    def needs_loo(self) -> bool:
        """True when a spec this fit stands for is a LOO model (brms only)."""
        return (capabilities(self.engine).loo
                and any(m.role == "loo" for m in self.aliases))

    @property
    def hypotheses(self) -> list[str]:
        """Every hypothesis text of every alias, in order, without repeats."""
        out: list[str] = []
        for m in self.aliases:
            out += [h.text for h in m.hypotheses if h.text not in out]
        return out

    def key(self, data_hash: str) -> str:
        """SHA-256 of everything that determines this fit's result (spec, engine, data)."""
        m = self.model
        payload = {
            "version": CHECKPOINT_VERSION, "engine": self.engine, "formula": m.formula,
            "family": m.family, "frame": m.frame, "convo_types": list(m.convo_types),
            "priors": [[p.prior, p.class_] for p in m.priors], "chains": m.chains,
            "iter": m.iter, "warmup": m.warmup, "seed": m.seed, "data": data_hash,
            "hypotheses": self.hypotheses, "loo": self.needs_loo,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class Plan:
    """Everything ``pybrms replicate`` will fit.

    Attributes
    ----------
    analyses : dict of str to AnalysisSpec
        The selected analyses.
    units : list of Unit
        Fits in run order (brms before the frequentist engines of the same model).
    frame_options : dict of str to str
        ``reasoning_nuance`` and ``ties`` for :func:`pybrms.papers.kyrychenko2025.frames.build_frames`.
    deviations : list of str
        Departures from the specs, for the report.
    quick : bool
        Whether ``--quick`` shortened the chains.
    """

    analyses: dict[str, AnalysisSpec]
    units: list[Unit]
    frame_options: dict[str, str]
    deviations: list[str] = field(default_factory=list)
    quick: bool = False

    @property
    def models(self) -> list[ModelSpec]:
        """Every (expanded) model spec of the selected analyses, aliases included."""
        return [m for a in self.analyses.values() for m in a.expanded()]

    @property
    def reference(self) -> str:
        """The engine whose ``hypothesis()`` tables the report prints (brms)."""
        engines = dict.fromkeys(u.engine for u in self.units)
        return next((e for e in engines if capabilities(e).hypotheses), "brms")

    def units_for(self, engine: str) -> list[Unit]:
        """The units of one engine."""
        return [u for u in self.units if u.engine == engine]

    def unit_of(self, model_name: str, engine: str) -> Unit | None:
        """The unit that fits ``model_name`` (or an identical model) with ``engine``."""
        for u in self.units:
            if u.engine == engine and any(m.name == model_name for m in u.aliases):
                return u
        return None


_SINGULAR = {"analyses": "analysis", "engines": "engine"}


def parse_list(text: str | Sequence[str] | None, known: Iterable[str], what: str) -> list[str]:
    """Split ``"a,b"`` and check every item is known; names the bad one."""
    known = list(known)
    if text is None:
        return []
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    for item in items:
        if item not in known:
            raise SpecError(f"--{what}: unknown {_SINGULAR.get(what, what)} {item!r}; "
                            f"known: {', '.join(known)}")
    return list(dict.fromkeys(items))


def _frame_options(analyses: dict[str, AnalysisSpec], overrides: dict[str, str | None],
                   deviations: list[str]) -> dict[str, str]:
    """The frame choices all selected specs agree on, with CLI overrides applied."""
    out: dict[str, str] = {}
    for amb, option in FRAME_CHOICES.items():
        choices = {a.ambiguities[amb].choice: a.id for a in analyses.values() if amb in a.ambiguities}
        if len(choices) > 1:
            raise SpecError(f"analyses disagree on ambiguities.{amb}: "
                            + ", ".join(f"{c!r} in {a}" for c, a in choices.items()))
        spec_choice = next(iter(choices), None)
        chosen = overrides.get(option) or spec_choice
        if chosen is None:
            chosen = "all" if option == "ties" else "product"
        if spec_choice is not None and chosen != spec_choice:
            deviations.append(f"{option} = {chosen!r} instead of the specs' choice "
                              f"{spec_choice!r} (ambiguities.{amb}; set on the command line)")
        out[option] = chosen
    return out


def _expressible(engine: str, model: ModelSpec, deviations: list[str]) -> bool:
    """Whether the engine can fit the model; if not, say so in the deviations."""
    try:
        get_engine(engine).check(FitSpec.without_data(model.formula, model.family))
    except EngineError as exc:
        deviations.append(f"{model.name}: no {engine} fit ({exc})")
        return False
    return True


def build_plan(
    analyses: Sequence[str] | None = None,
    engines: Sequence[str] | None = None,
    *,
    quick: bool = False,
    convo_types: Sequence[str] | None = None,
    reasoning_nuance: str | None = None,
    ties: str | None = None,
    specs_dir: str | Path | None = None,
) -> Plan:
    """Build the plan from the analysis specs.

    Parameters
    ----------
    analyses : sequence of str, optional
        Analysis ids (``1a``, ``1b``, ``interaction`` / ``interaction_toxicity``, ``2``, ``3``,
        ``supplement``); default all.
    engines : sequence of str, optional
        Default :data:`DEFAULT_ENGINES`. An engine with brms's ``hypothesis()`` (brms) is
        required: the tables are brms's.
    quick : bool
        Shorten every chain to :data:`QUICK` (recorded as a deviation).
    convo_types : sequence of str, optional
        Keep only models on these conversation types (``all``, ``unguided``, ...).
    reasoning_nuance, ties : str, optional
        Override the specs' frame choices (recorded as deviations).
    specs_dir : path, optional
        Folder of the specs (default :func:`comparisons_dir`).

    Returns
    -------
    Plan

    Raises
    ------
    SpecError
        For an unknown analysis, engine or conversation type, a plan without brms, or
        specs that disagree on a frame choice.
    """
    specs = load_all(specs_dir if specs_dir is not None else comparisons_dir())
    known = list(specs) + list(ANALYSIS_ALIASES)
    chosen = parse_list(analyses, known, "analyses") or list(specs)
    chosen = list(dict.fromkeys(ANALYSIS_ALIASES.get(a, a) for a in chosen))
    engines = parse_list(engines, ENGINES, "engines") or list(DEFAULT_ENGINES)
    if not any(capabilities(e).hypotheses for e in engines):
        raise SpecError("--engines must include brms (an engine with brms's hypothesis()): "
                        "the paper's tables are brms's")
    engines = sorted(engines, key=ENGINES.index)
    selected = {a: specs[a] for a in specs if a in chosen}
    deviations: list[str] = []
    frame_options = _frame_options(selected, {"reasoning_nuance": reasoning_nuance, "ties": ties},
                                   deviations)
    models = [m for a in selected.values() for m in a.expanded()]
    if convo_types:
        bad = [t for t in convo_types if t not in CONVO_TYPES]
        if bad:
            raise SpecError(f"--convo-types: unknown conversation type {bad[0]!r}; known: "
                            f"{', '.join(CONVO_TYPES)}")
        models = [m for m in models if m.convo_types[0] in convo_types]
        deviations.append(f"only conversation types {', '.join(convo_types)} were fitted")
    if not models:
        raise SpecError("the plan has no model: check --analyses and --convo-types")
    if quick:
        models = [replace(m, chains=QUICK["chains"], warmup=QUICK["warmup"],
                          iter=QUICK["warmup"] + QUICK["draws"]) for m in models]
        deviations.append(
            f"--quick: {QUICK['chains']} chains x {QUICK['draws']} draws after {QUICK['warmup']} "
            f"warm-up instead of the specs' settings; evidence ratios are capped at "
            f"{QUICK['chains'] * QUICK['draws']} draws, not the paper's 4,000/12,000")
    groups: dict[tuple, list[ModelSpec]] = {}
    for m in models:
        groups.setdefault(m.fit_key(), []).append(m)
    units = []
    for ms in groups.values():
        for e in engines:
            if not _expressible(e, ms[0], deviations):
                continue
            units.append(Unit(model=ms[0], engine=e, aliases=tuple(ms)))
    return Plan(analyses=selected, units=units, frame_options=frame_options,
                deviations=deviations, quick=quick)
