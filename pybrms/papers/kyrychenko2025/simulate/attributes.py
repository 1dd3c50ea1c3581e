"""The first turn's interactions and the Perspective attributes of its prompts and responses.

* Prompt attributes: eight correlated Perspective-like probabilities (logit-normal; latent
  REASONING-NUANCE correlation 0.9), logit SDs :data:`~.params.PROMPT_LOGIT_SD`.
* Analysis 3's true model: each response attribute = intercept + Table 4 coefficients x the
  prompt's attributes + a conversation ("topic") effect (:data:`~.params.TOPIC_SD`, drawn from
  its own random stream) + a model (LLM) effect + noise (:data:`~.params.RESPONSE_SD`; centred
  gamma for TOXICITY), clipped to [0.001, 0.999]; REASONING and NUANCE are then split from
  REASONING_NUANCE so that the chosen construction returns it exactly and corr(R, N) ~ 0.9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frames import PREDICTORS, combine_reasoning_nuance
from ..scoring.base import ATTRIBUTES
from .params import MODELS, PROMPT_LOGIT_MEAN, PROMPT_LOGIT_SD, RESPONSE_MEAN, RESPONSE_SD, TOPIC_SD
from .truth import PublishedTruth


@dataclass(frozen=True)
class FirstTurn:
    """The first turn's responses: 2-4 per conversation, each from a different model.

    Attributes
    ----------
    conv : ndarray
        Per response: its conversation's index.
    model : ndarray
        Per response: its model's index in :data:`~.params.MODELS`.
    within : ndarray
        Per response: ``within_turn_id`` (a permutation within the conversation).
    """

    conv: np.ndarray
    model: np.ndarray
    within: np.ndarray

    @property
    def n(self) -> int:
        """Number of first-turn responses."""
        return len(self.conv)


def draw_first_turn(rng: np.random.Generator, n_conv: int) -> FirstTurn:
    """Draw how many models answer each conversation's first turn, which, and in what order."""
    k = rng.choice([2, 3, 4], n_conv, p=[0.05, 0.15, 0.80])
    n_models = len(MODELS)
    picks = np.argsort(rng.random((n_conv, n_models)), axis=1)
    r_conv = np.repeat(np.arange(n_conv), k)  # one row per first-turn response
    pos = np.arange(len(r_conv)) - np.repeat(np.cumsum(k) - k, k)
    r_model = picks[r_conv, pos]
    r_within = np.concatenate([rng.permutation(n) for n in k]).astype(int)
    return FirstTurn(conv=r_conv, model=r_model, within=r_within)


def draw_prompts(rng: np.random.Generator, n_conv: int,
                 reasoning_nuance: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Draw one first prompt's attributes per conversation.

    Returns
    -------
    prompt, human : dict of str to ndarray
        The eight attributes (:data:`~..scoring.base.ATTRIBUTES`), and the seven predictors
        (:data:`~..frames.PREDICTORS`, REASONING_NUANCE built as ``reasoning_nuance`` says).
    """
    cov = np.full((8, 8), 0.25)
    np.fill_diagonal(cov, 1.0)
    i_r, i_n, i_t = ATTRIBUTES.index("REASONING"), ATTRIBUTES.index("NUANCE"), 7
    cov[i_r, i_n] = cov[i_n, i_r] = 0.9
    cov[i_t, :i_t] = cov[:i_t, i_t] = -0.05
    # Cholesky by hand, not rng.multivariate_normal: its default SVD factor depends on the
    # LAPACK build (sign flips), so the same seed gave different files on another install.
    # The product is summed elementwise (no BLAS) so every machine adds in the same order.
    chol = np.linalg.cholesky(cov)
    z = (rng.standard_normal((n_conv, 8))[:, None, :] * chol[None, :, :]).sum(axis=2)
    loc = np.array([PROMPT_LOGIT_MEAN[a] for a in ATTRIBUTES])
    prompt = sigmoid(loc + np.array([PROMPT_LOGIT_SD[a] for a in ATTRIBUTES]) * z)
    prompt_attr = {a: prompt[:, j] for j, a in enumerate(ATTRIBUTES)}
    human = {p: prompt_attr[p] for p in PREDICTORS if p != "REASONING_NUANCE"}
    human["REASONING_NUANCE"] = combine_reasoning_nuance(
        prompt_attr["REASONING"], prompt_attr["NUANCE"], reasoning_nuance)
    return prompt_attr, human


def draw_responses(rng: np.random.Generator, rng_topic: np.random.Generator,
                   pub: PublishedTruth, human: dict[str, np.ndarray], first: FirstTurn,
                   n_conv: int, reasoning_nuance: str) -> dict[str, np.ndarray]:
    """Draw the first-turn responses' attributes (Analysis 3's true model).

    The attributes are drawn in :data:`~.params.RESPONSE_MEAN`'s order. The conversation-level
    ("topic") parts come from ``rng_topic``, their own stream, so every draw of the main stream
    (and so every count) is where it was before they existed.

    Returns
    -------
    dict of str to ndarray
        The seven predictors plus ``REASONING`` and ``NUANCE``, one value per response.
    """
    r_conv, r_model, n_resp = first.conv, first.model, first.n
    resp = {}
    for dv in RESPONSE_MEAN:
        coefs = pub.table_4[dv]
        lin = sum(c * human[p] for c, p in zip(coefs, PREDICTORS, strict=True))
        a0 = RESPONSE_MEAN[dv] - lin.mean()
        model_eff = rng.normal(0, RESPONSE_SD[dv] * 0.5, len(MODELS))
        if dv == "TOXICITY":  # right-skewed, bounded below: few responses clip at 0
            noise = rng.gamma(2.0, RESPONSE_SD[dv] / np.sqrt(2.0), n_resp)
            noise -= noise.mean()
            topic = rng_topic.gamma(2.0, TOPIC_SD[dv] / np.sqrt(2.0), n_conv)
            topic -= topic.mean()
        else:
            noise = rng.normal(0, RESPONSE_SD[dv], n_resp)
            topic = rng_topic.normal(0, TOPIC_SD[dv], n_conv)
        resp[dv] = np.clip(a0 + lin[r_conv] + topic[r_conv] + model_eff[r_model] + noise,
                           0.001, 0.999)
    reasoning, nuance = split_reasoning_nuance(resp["REASONING_NUANCE"], reasoning_nuance, rng)
    resp["REASONING_NUANCE"] = combine_reasoning_nuance(reasoning, nuance, reasoning_nuance)
    resp["REASONING"], resp["NUANCE"] = reasoning, nuance
    return resp


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def split_reasoning_nuance(
    rn: np.ndarray, how: str, rng: np.random.Generator, rho: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Split REASONING_NUANCE into (REASONING, NUANCE) that combine back to it under ``how``.

    Draws the split from ``rng``; the caller recombines REASONING_NUANCE from the two.
    """
    shrink = (1 - rho) / (1 + rho)
    if how == "mean":
        d = rng.normal(0.0, np.sqrt(np.var(rn) * shrink), rn.shape)
        bound = np.minimum(rn, 1 - rn)
        d = np.clip(d, -bound, bound)
        # rn +/- bound can land a rounding error outside [0, 1]; the caller recombines
        return np.clip(rn + d, 0.0, 1.0), np.clip(rn - d, 0.0, 1.0)
    half = 0.5 * np.log(rn)
    d = rng.normal(0.0, np.sqrt(np.var(half) * shrink), rn.shape)
    bound = -half  # keeps both factors <= 1
    d = np.clip(d, -bound, bound)
    root = np.sqrt(rn)
    # at the bound, sqrt(rn) * exp(-log(rn) / 2) is 1 up to rounding (1.0000000000000002 was
    # seen): clip so both stay probabilities; the caller recombines REASONING_NUANCE from them
    return np.clip(root * np.exp(d), 0.0, 1.0), np.clip(root * np.exp(-d), 0.0, 1.0)

