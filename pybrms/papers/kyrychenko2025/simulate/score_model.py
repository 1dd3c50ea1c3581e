"""The score model (Analysis 1b's true model) and the first turn's scores.

On the log scale::

    log(score) = b0 + sum_k slope_k * x_k + b_int * TOXICITY * (TOXICITY_human - mean)
                 + u_user + u_user:conversation + u_model + e,
    e ~ N(0, s_i^2),  log s_i = log sd_residual + sum_k gamma_k * (x_ik - mean_conv x_k)

with ``slope_k = beta_k (Table 2b, all) + type deviation (Table 2b per type, centred on the
type shares) + sum_m gamma_mk * (moderator_m - share_m)`` (Table 3). Centring keeps the
population-average slope equal to Table 2b "all", so the plain Analysis 1b model recovers it.
The score is ``round(exp(log score))`` clipped to 1..100; the location is shifted up by the
expected loss at the ceiling (:func:`ceiling_shift`) so the observed log score's mean stays
the linear predictor.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..frames import PREDICTORS
from ..prism import CONVERSATION_TYPES
from .attributes import FirstTurn
from .params import EMPTY_RESPONSE_RATE, MODELS, SCORE_MODEL
from .population import Population


def ceiling_shift(mean: np.ndarray, sd: np.ndarray, ceiling: float) -> np.ndarray:
    """Location ``a`` with ``E[min(a + sd * Z, ceiling)] = mean`` for a standard normal ``Z``.

    Scores stop at 100, so a latent log score ``mean + sd * Z`` would be observed lower on
    average the nearer ``mean`` is to the ceiling and the larger ``sd`` is; where ``sd`` moves
    with an attribute (the residual-scale slopes) that would bend Analysis 1b's slope (measured
    before this shift: TOXICITY -0.92 for a generating -0.659 over three full-scale seeds).
    Shifting the location by the expected loss at the ceiling keeps the observed log score's
    conditional mean equal to the linear predictor, so Table 2b stays the 1b model's estimand.
    Solved by Newton's method on ``a - sd * psi((ceiling - a) / sd) = mean``, with
    ``psi(t) = phi(t) - t * (1 - Phi(t))`` (the normal's expected excess over ``t``).
    """
    # E[min(.)] < ceiling, so a mean at the ceiling has no solution: hold it just below
    target = np.minimum(np.asarray(mean, dtype=float), ceiling - 0.05)
    a = target.copy()
    # the left side is increasing and concave in a, so Newton from a = mean (below the root)
    # climbs to the root without overshooting
    for _ in range(40):
        t = (ceiling - a) / sd
        excess = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi) - t * (1 - ndtr(t))
        a = a - (a - sd * excess - target) / np.maximum(ndtr(t), 1e-12)
    return a


def linear_predictor(truth: dict, resp: dict[str, np.ndarray], human: dict[str, np.ndarray],
                     pop: Population, first: FirstTurn) -> np.ndarray:
    """Each response's 1b linear predictor without the intercept (its slopes vary, see above)."""
    r_conv = first.conv
    lin = np.zeros(first.n)
    r_type = pop.conv_type[r_conv]
    r_user = pop.conv_user_row[r_conv]
    tox_h_mean = truth["toxicity_interaction"]["centre_TOXICITY_human"]
    for p in PREDICTORS:
        slope = np.full(first.n, truth["analysis_1b"][p])
        for t in CONVERSATION_TYPES:
            slope[r_type == t] += truth["type_deviation"][p][t]
        for m, gam in truth["analysis_2_moderation"].items():
            dev = np.where(pop.known[m], pop.moderators[m] - pop.moderator_shares[m], 0.0)
            slope += gam[p] * dev[r_user]
        lin += slope * resp[p]
    lin += (truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] * resp["TOXICITY"]
            * (human["TOXICITY"][r_conv] - tox_h_mean))
    return lin


def score_intercept(truth: dict, resp: dict[str, np.ndarray]) -> float:
    """The 1b intercept that puts the mean log score at ``SCORE_MODEL["mean_log_score"]``."""
    pop_lin = sum(truth["analysis_1b"][p] * resp[p] for p in PREDICTORS)
    return SCORE_MODEL["mean_log_score"] - float(pop_lin.mean())


def residual_log_sd(truth: dict, resp: dict[str, np.ndarray], pop: Population,
                    first: FirstTurn) -> np.ndarray:
    """Each response's log residual SD less ``log(sd_residual)``.

    The residual's scale moves with the attributes' distance from their interaction's mean
    (Table 2a through ``score_scale`` in the truth); its mean does not, so the 1b model's mean
    stays correctly specified.
    """
    r_conv, n_conv = first.conv, pop.n_conv
    r_type = pop.conv_type[r_conv]
    type_index = np.zeros(first.n, dtype=np.int64)
    for i, t in enumerate(CONVERSATION_TYPES):
        type_index[r_type == t] = i
    log_sd = np.zeros(first.n)
    per_conv = np.bincount(r_conv, minlength=n_conv)
    for p in PREDICTORS:
        gam = np.array([truth["score_scale"]["per_type"][t][p] for t in CONVERSATION_TYPES])
        conv_mean = np.bincount(r_conv, weights=resp[p], minlength=n_conv) / per_conv
        log_sd += gam[type_index] * (resp[p] - conv_mean[r_conv])
    return log_sd


def draw_scores(rng: np.random.Generator, truth: dict, resp: dict[str, np.ndarray],
                human: dict[str, np.ndarray], pop: Population,
                first: FirstTurn) -> tuple[np.ndarray, np.ndarray]:
    """Draw the first turn's scores (1..100) and which responses are empty.

    ``truth["analysis_1b"]["Intercept"]`` must already hold :func:`score_intercept`. An empty
    response ("EMPTY STRING") gets a score drawn from 1..19 in place of the model's.

    Returns
    -------
    score : ndarray of int
    empty : ndarray of bool
    """
    lin = linear_predictor(truth, resp, human, pop, first)
    intercept = truth["analysis_1b"]["Intercept"]
    r_conv, n_resp = first.conv, first.n
    u_user = rng.normal(0, SCORE_MODEL["sd_user"], len(pop.survey))
    u_conv = rng.normal(0, SCORE_MODEL["sd_conversation"], pop.n_conv)
    u_model = rng.normal(0, SCORE_MODEL["sd_model"], len(MODELS))
    sd_i = SCORE_MODEL["sd_residual"] * np.exp(residual_log_sd(truth, resp, pop, first))
    mean_i = intercept + lin + u_user[pop.conv_user_row[r_conv]] + u_conv[r_conv] \
        + u_model[first.model]
    log_score = (ceiling_shift(mean_i, sd_i, np.log(100.0))
                 + sd_i * rng.normal(0, 1.0, n_resp))
    score = np.clip(np.round(np.exp(log_score)), 1, 100).astype(int)
    empty = rng.random(n_resp) < EMPTY_RESPONSE_RATE
    score[empty] = rng.integers(1, 20, int(empty.sum()))
    return score, empty
