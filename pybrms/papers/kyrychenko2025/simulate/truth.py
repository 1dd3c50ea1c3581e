"""The generating coefficients: the published Tables 2-4, and the truth written to ``truth.json``.

Every published coefficient comes from the paper's tables as transcribed in
``comparisons/published`` (:func:`published_truth`, through
:func:`~pybrms.papers.kyrychenko2025.published.load_published`): one source for the simulator
and the comparisons. :func:`generating_truth` turns them into the model the simulator draws
from (per-type slopes centred on the type shares, residual-scale slopes from
:func:`score_scale`); :func:`homogeneous` removes the slopes' variation.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass

from ..frames import MODERATORS, PREDICTORS
from ..prism import CONVERSATION_TYPES
from ..published import CONVO_TYPE_LABELS, load_published
from .params import RESPONSE_MEAN, SCALE_CALIBRATION, SCORE_MODEL


@dataclass(frozen=True)
class PublishedTruth:
    """The paper's estimates the simulator imposes (or records), read from Tables 2-4.

    Attributes
    ----------
    table_2b, table_2a : dict of str to tuple of float
        Analysis 1b (log score) and 1a (highest score) coefficient per predictor, for the
        conversation types of
        :data:`pybrms.papers.kyrychenko2025.published.CONVO_TYPE_LABELS` in order:
        all, unguided, values guided, controversy guided.
    toxicity_interaction : float
        Table 2, ``TOXICITY:TOXICITY_human``.
    table_3 : dict of str to dict of str to float
        Analysis 2: moderator (:data:`~pybrms.papers.kyrychenko2025.frames.MODERATORS`
        order) -> predictor -> the moderator-by-predictor coefficient
        (``youngerTRUE:TOXICITY``).
    table_4 : dict of str to tuple of float
        Analysis 3: response attribute -> its coefficients on the prompt's attributes
        (``*_human``), in :data:`~pybrms.papers.kyrychenko2025.frames.PREDICTORS` order.
    """

    table_2b: dict[str, tuple[float, ...]]
    table_2a: dict[str, tuple[float, ...]]
    toxicity_interaction: float
    table_3: dict[str, dict[str, float]]
    table_4: dict[str, tuple[float, ...]]


@functools.cache
def published_truth(directory: str | os.PathLike | None = None) -> PublishedTruth:
    """Read the generating coefficients from the published Tables 2-4.

    Parameters
    ----------
    directory : str or path-like, optional
        Folder of ``table2.csv``... (default
        :func:`pybrms.papers.kyrychenko2025.resources.published_dir`).

    Returns
    -------
    PublishedTruth

    Raises
    ------
    KeyError
        If a table lacks a row the simulator needs.
    """
    t2 = load_published("table2", directory)
    est2 = {(r.analysis, r.term, r.convo_type): r.estimate for r in t2.itertuples()}
    est3 = {r.term: r.estimate for r in load_published("table3", directory).itertuples()}
    est4 = {(r.dv, r.term): r.estimate for r in load_published("table4", directory).itertuples()}

    def table2(analysis: str) -> dict[str, tuple[float, ...]]:
        return {p: tuple(est2[analysis, p, label] for label in CONVO_TYPE_LABELS.values())
                for p in PREDICTORS}

    return PublishedTruth(
        table_2b=table2("1b"),
        table_2a=table2("1a"),
        toxicity_interaction=est2["interaction_toxicity", "TOXICITY:TOXICITY_human", "all"],
        table_3={m: {p: est3[f"{m}TRUE:{p}"] for p in PREDICTORS} for m in MODERATORS},
        table_4={dv: tuple(est4[dv, f"{p}_human"] for p in PREDICTORS) for dv in RESPONSE_MEAN},
    )


def score_scale(table_2a: dict[str, float], slopes_1b: dict[str, float],
                calibration: dict[str, float] | None = None) -> dict[str, float]:
    """Slopes of the log residual SD that give Table 2a's coefficients beside Table 2b's.

    ``gamma_k = (a_k - kappa * b_k) / delta`` with ``a`` the Table 2a coefficients (Analysis
    1a, highest score), ``b`` the imposed 1b slopes and ``kappa``, ``delta`` of
    :data:`SCALE_CALIBRATION` (1a per unit of mean slope, per unit of scale slope).
    """
    cal = calibration or SCALE_CALIBRATION
    return {k: ((table_2a[k] - cal["kappa"][k] * slopes_1b[k]) / cal["delta"][k]
                if abs(cal["delta"][k]) >= cal["min_delta"] else 0.0) for k in PREDICTORS}



def generating_truth(pub: PublishedTruth, how: str, type_shares: dict[str, float],
                     mod_shares: dict[str, float], tox_h_mean: float, intercept: float) -> dict:
    """The generating model as ``truth.json`` records it (before seed, scale and counts).

    Parameters
    ----------
    pub : PublishedTruth
        The published coefficients.
    how : str
        How REASONING_NUANCE is built (``"mean"`` or ``"product"``).
    type_shares : dict of str to float
        Share of each conversation type among the English conversations: the per-type
        deviations from Table 2b "all" are centred on them.
    mod_shares : dict of str to float
        Share of each moderator's TRUE value among the users who answered.
    tox_h_mean : float
        Mean of the prompts' TOXICITY, the centre of the toxicity interaction.
    intercept : float
        Analysis 1b intercept (the caller sets the real one once the attributes are drawn).

    Returns
    -------
    dict
        A new, JSON-ready dict.
    """
    table_2b = pub.table_2b
    type_cols = {t: i for i, t in enumerate(CONVERSATION_TYPES, start=1)}  # 0 is "all"
    type_dev = {}
    for k, vals in table_2b.items():
        avg = sum(type_shares[t] * vals[i] for t, i in type_cols.items())
        type_dev[k] = {t: vals[i] - avg for t, i in type_cols.items()}
    per_type = {t: {k: table_2b[k][0] + type_dev[k][t] for k in table_2b} for t in type_cols}
    table_2a = {t: {k: pub.table_2a[k][i] for k in PREDICTORS} for t, i in type_cols.items()}
    scale = {
        "description": (
            "log residual SD = log(sd_residual) + sum_k gamma_k * (x_k - mean x_k), gamma per "
            "conversation type: gamma_k = (Table 2a_k - kappa * 1b slope_k) / delta, so the "
            "highest-score outcome (Analysis 1a) follows Table 2a while the mean log score "
            "follows Table 2b"),
        "calibration": dict(SCALE_CALIBRATION),
        "per_type": {t: score_scale(table_2a[t], per_type[t]) for t in type_cols},
        "all": score_scale({k: pub.table_2a[k][0] for k in PREDICTORS},
                           {k: table_2b[k][0] for k in PREDICTORS}),
    }
    return {
        "description": (
            "Generating model of pybrms.data.simulate; Analysis 1b fixed effects are the "
            "population-average slopes (Table 2b, all)."
        ),
        "reasoning_nuance": how,
        "analysis_1b": {"Intercept": intercept, **{k: table_2b[k][0] for k in PREDICTORS}},
        "analysis_1b_per_type_implied": per_type,
        "type_deviation": type_dev,
        "toxicity_interaction": {
            "TOXICITY:TOXICITY_human": pub.toxicity_interaction,
            "centre_TOXICITY_human": tox_h_mean,
            "note": "uncentred model: TOXICITY slope = beta - interaction * centre",
        },
        "analysis_2_moderation": {m: dict(gam) for m, gam in pub.table_3.items()},
        "moderator_shares": mod_shares,
        "analysis_3": {dv: dict(zip([f"{p}_human" for p in PREDICTORS], row, strict=True))
                       for dv, row in pub.table_4.items()},
        "score_model": SCORE_MODEL,
        "score_scale": scale,
        "published_not_imposed": {"analysis_1a": {k: v[0] for k, v in pub.table_2a.items()},
                                  "analysis_1a_per_type": dict(pub.table_2a)},
        "type_shares": type_shares,
    }


def homogeneous(truth: dict) -> dict:
    """The truth with every 1b slope equal to Table 2b "all" (``slopes="homogeneous"``).

    Returns a new dict; ``truth`` is left as it is.
    """
    slopes = truth["analysis_1b"]
    truth = json.loads(json.dumps(truth))
    truth["slopes"] = "homogeneous"
    for by_type in truth["type_deviation"].values():
        for t in by_type:
            by_type[t] = 0.0
    for t in truth["analysis_1b_per_type_implied"]:
        truth["analysis_1b_per_type_implied"][t] = {k: slopes[k] for k in PREDICTORS}
    for m in truth["analysis_2_moderation"]:
        truth["analysis_2_moderation"][m] = {k: 0.0 for k in truth["analysis_2_moderation"][m]}
    truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] = 0.0
    scale = truth["score_scale"]
    for t in scale["per_type"]:
        scale["per_type"][t] = dict(scale["all"])
    truth["description"] += (" slopes='homogeneous': every response has Table 2b 'all' slopes "
                             "and Table 2a 'all''s residual-scale slopes; per-type deviations, "
                             "moderation and the interaction are 0.")
    return truth

