"""The sampler's draws as brms's parameters, names and order (brms's generated quantities:
``b_Intercept``, ``sd_g__Intercept``, ``cor_g__Intercept__x``, ``r_g``...).
"""

from __future__ import annotations

import numpy as np

from ...spec.naming import cor_name, sd_name
from .model import ModelData


def cholesky_corr_np(y: np.ndarray, k: int) -> np.ndarray:
    """:func:`cholesky_corr` in numpy over leading draw dimensions: ``(..., k(k-1)/2)`` ->
    ``(..., k, k)``.
    """
    z = np.tanh(y)
    L = np.zeros((*y.shape[:-1], k, k))
    L[..., 0, 0] = 1.0
    m = 0
    for i in range(1, k):
        L[..., i, 0] = z[..., m]
        m += 1
        sum_sqs = L[..., i, 0] ** 2
        for j in range(1, i):
            L[..., i, j] = z[..., m] * np.sqrt(1.0 - sum_sqs)
            m += 1
            sum_sqs = sum_sqs + L[..., i, j] ** 2
        L[..., i, i] = np.sqrt(1.0 - sum_sqs)
    return L


def brms_draws(md: ModelData, post: dict[str, np.ndarray],
               keep_ranef: bool = True) -> dict[str, np.ndarray]:
    """Return brms's parameters from the sampler's, each ``(chain, draw, ...)``.

    Parameters
    ----------
    md : ModelData
        The model.
    post : dict
        The sampler's draws by PyMC name (``Intercept``, ``b``, ``sd_<id>``, ``z_<id>``,
        ``Lraw_<id>``, ``sigma``).
    keep_ranef : bool
        Also return ``r_<group>``: ``(chain, draw, levels, coefs)``.

    Returns
    -------
    dict
        ``b_<coef>`` for every column of ``X`` (``b_Intercept`` un-centred as brms does),
        ``sd_<group>__<coef>``, ``cor_<group>__<c1>__<c2>`` (brms's order), ``sigma``,
        ``Intercept`` (the centred intercept, as brms keeps it) and ``r_<group>``.
    """
    out: dict[str, np.ndarray] = {}
    names = list(md.xnames)
    if md.centred:
        bnames = names[1:]
        b = post["b"] if bnames else np.zeros((*post["Intercept"].shape, 0))
        means = md.X[:, 1:].mean(axis=0)
        out["b_Intercept"] = post["Intercept"] - b @ means
        for j, c in enumerate(bnames):
            out[f"b_{c}"] = b[..., j]
    else:
        for j, c in enumerate(names):
            out[f"b_{c}"] = post["b"][..., j]
    for g in md.groups:
        sd = post[f"sd_{g.id}"]
        m = len(g.coefs)
        if sd.ndim == 2:
            sd = sd[..., None]
        for j, c in enumerate(g.coefs):
            out[sd_name(g.group, c)] = sd[..., j]
        L = None
        if g.correlated:
            L = cholesky_corr_np(post[f"Lraw_{g.id}"].reshape(*sd.shape[:2], -1), m)
            C = L @ np.swapaxes(L, -1, -2)
            for i in range(1, m):
                for j in range(i):
                    out[cor_name(g.group, g.coefs[j], g.coefs[i])] = C[..., j, i]
        if keep_ranef:
            if f"rc_{g.id}" in post:  # sampled centred: the effects themselves
                r = post[f"rc_{g.id}"].reshape(*sd.shape[:2], m, g.n_levels)
            elif f"uc_{g.id}" in post:  # centred on the intercept: u = Intercept + r
                u = post[f"uc_{g.id}"].reshape(*sd.shape[:2], m, g.n_levels)
                r = u - post["Intercept"].reshape(*sd.shape[:2], 1, 1)
            else:
                z = post[f"z_{g.id}"].reshape(*sd.shape[:2], m, g.n_levels)
                r = sd[..., :, None] * (z if L is None else L @ z)
            out[f"r_{g.group}"] = np.swapaxes(r, -1, -2)
    if "sigma" in post:
        out["sigma"] = post["sigma"]
    if md.centred:
        out["Intercept"] = post["Intercept"]
    return out


def brms_order(names: list[str], md: ModelData) -> list[str]:
    """Return brms's order of scalar parameters: b_, then per block sd_ and cor_, then sigma."""
    head = [f"b_{c}" for c in md.xnames]
    blocks = []
    for g in md.groups:
        blocks += [sd_name(g.group, c) for c in g.coefs]
    for g in md.groups:
        blocks += [n for n in names if n.startswith(f"cor_{g.group}__")]
    tail = ["sigma"] if "sigma" in names else []
    ordered = [n for n in [*head, *blocks, *tail] if n in names]
    return ordered + [n for n in names if n not in ordered]
