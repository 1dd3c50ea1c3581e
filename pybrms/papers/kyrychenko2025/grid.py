"""A grid from a replication spec (``pybrms sensitivity --from comparisons/analysis_1b.toml``).

The spec's model (on all conversations) is the base. Axes:

* every declared ``[ambiguities.*]`` that pybrms can carry out: ``reasoning_nuance`` and
  ``highest_ties`` (how the analysis frame is built), ``log_transform`` (``log_score`` as
  ``log(score)`` or ``log10(score)``), ``prior_classes`` (the b prior also on Intercept, sd,
  sigma); the others are listed in the grid's notes as not varied, with the reason;
* ``prior``: the spec's, brms's defaults, ``normal(0, 1)``, ``student_t(3, 0, 2.5)`` (on the
  classes the ``prior_classes`` axis says; brms's defaults only with class b);
* ``random_effects``: the spec's structure, and without the crossed model effect (user only).

The first option of every axis is the spec's choice, so the one-at-a-time design (``--quick``)
is the spec's model plus each alternative alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import SpecError
from ...sensitivity.grid import Grid, Option
from ...spec.formula import parse_formula
from .frames import build_frames
from .replicate.spec import load_analysis

#: ambiguity key -> option name -> fields
_CLASSES = {"b": ["b"], "b+Intercept": ["b", "Intercept"],
            "b+Intercept+sd+sigma": ["b", "Intercept", "sd", "sigma"]}
_LOG = {"natural_log": [], "log10": ["log_score = log10(score)"]}
#: the standard prior axis: option -> b prior (None: the spec's own; [] brms's defaults)
STANDARD_PRIORS: dict[str, Any] = {"spec": None, "brms_default": [],
                                   "normal_0_1": [{"prior": "normal(0, 1)", "class": "b"}],
                                   "student_t_3_0_2.5": [{"prior": "student_t(3, 0, 2.5)",
                                                          "class": "b"}]}


def _user_only(formula: str) -> str:
    """The formula without group-level terms whose grouping factor is not the user's."""
    def keep(m: re.Match) -> str:
        return m.group(0) if "user" in m.group(1) else ""

    out = re.sub(r"\+\s*\([^()|]*\|\s*([^()]*)\)", keep, formula)
    return re.sub(r"\s+", " ", out).strip()


def _ambiguity_axis(key: str, choice: str, alternatives: tuple[str, ...], notes: list[str]
                    ) -> list[Option] | None:
    names = [choice, *alternatives]
    if key == "reasoning_nuance":
        return [Option(key, n, {"frame_options": {"reasoning_nuance": n}}) for n in names]
    if key == "highest_ties":
        ok = [n for n in names if n in ("all", "first", "drop")]
        if len(ok) < len(names):
            notes.append(f"highest_ties: {sorted(set(names) - set(ok))} not varied (the frame "
                         "builder knows all, first, drop)")
        return [Option(key, n, {"frame_options": {"ties": n}}) for n in ok]
    if key == "log_transform":
        return [Option(key, n, {"transform": _LOG[n]} if _LOG.get(n) else {}) for n in names
                if n in _LOG]
    if key == "prior_classes":
        return [Option(key, n, {"prior_classes": _CLASSES[n]}) for n in names if n in _CLASSES]
    notes.append(f"ambiguity {key!r} not varied: " + (
        "a random seed makes a cell irreproducible; its effect is Monte Carlo error (see ESS)"
        if key == "seed" else "no data or model change is defined for it"))
    return None


def grid_from_spec(spec_path: str | os.PathLike, data: str | os.PathLike,
                   scores: str | os.PathLike | None = None, model: str | None = None,
                   engines: list[str] | None = None) -> Grid:
    """Build the sensitivity grid of one analysis spec on the PRISM data in ``data``.

    Parameters
    ----------
    spec_path : path
        An analysis spec (``pybrms/comparisons/analysis_1b.toml``).
    data : path
        Folder with the PRISM files and ``scores.parquet`` (e.g. the bundled demo data).
    scores : path, optional
        The scores table (default ``DATA/scores.parquet``).
    model : str, optional
        The spec's model to use (default: its first).
    engines : list of str, optional
        Engines (default brms and lme4).

    Raises
    ------
    SpecError
        For an unknown model or a data folder without the files.
    """
    spec = load_analysis(spec_path)
    models = {m.name: m for m in spec.models}
    if model is not None and model not in models:
        raise SpecError(f"{spec_path}: no model {model!r}; models: {', '.join(models)}")
    m = models[model] if model else spec.models[0]
    data = Path(data)
    if not data.is_dir():
        raise SpecError(f"--data {str(data)!r} is not a folder with the PRISM files")
    scores_path = Path(scores) if scores else data / "scores.parquet"
    notes: list[str] = [f"from {Path(spec_path).name}: model {m.name} on all conversations"]
    axes: dict[str, list[Option]] = {}
    for key, amb in spec.ambiguities.items():
        opts = _ambiguity_axis(key, amb.choice, amb.alternatives, notes)
        if opts and len(opts) > 1:
            axes[key] = opts
    spec_priors = [{"prior": p.prior, "class": p.class_} for p in m.priors]
    axes["prior"] = [Option("prior", n, {"prior": spec_priors if v is None else v})
                     for n, v in STANDARD_PRIORS.items()]
    user_only = _user_only(m.formula)
    if user_only != m.formula:
        axes["random_effects"] = [Option("random_effects", "spec", {}),
                                  Option("random_effects", "user_only", {"formula": user_only})]
    exclude = [{"prior": "brms_default", "prior_classes": n} for n in _CLASSES if n != "b"
               ] if "prior_classes" in axes else []
    frame_defaults = {"reasoning_nuance": "product", "ties": "all"}
    for key, opt in (("reasoning_nuance", "reasoning_nuance"), ("highest_ties", "ties")):
        if key in spec.ambiguities:
            frame_defaults[opt] = spec.ambiguities[key].choice
    used = sorted(parse_formula(m.formula).variables | {"score"})
    cache: dict[tuple, pd.DataFrame] = {}

    def builder(_data: Any, frame_options: Mapping[str, str]) -> pd.DataFrame:
        opts = {**frame_defaults, **frame_options}
        k = tuple(sorted(opts.items()))
        if k not in cache:
            frames = build_frames(data, scores_path, **opts)
            df = frames[m.frame]
            cache[k] = df.loc[:, [c for c in used if c in df.columns]].reset_index(drop=True)
        return cache[k]

    focus = [h.left for h in m.hypotheses if re.fullmatch(r"\w+", h.left)]
    base = {"data": str(data), "formula": m.formula, "family": m.family, "prior": spec_priors,
            "chains": m.chains, "iter": m.iter, "warmup": m.warmup, "seed": m.seed,
            "engines": list(engines or ["brms", "lme4"]), "focus": list(dict.fromkeys(focus))}
    return Grid(base=base, axes=axes, exclude=exclude, root=data, data_builder=builder,
                source=str(spec_path), notes=notes)
