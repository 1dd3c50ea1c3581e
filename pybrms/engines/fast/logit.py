"""The fast engine's logit likelihood: brms's linear predictor, likelihood and gradient in one
SIMD-friendly numba kernel.

Why: on the paper's Analysis 1a design (29,704 rows, 8 coefficients, three group-level terms)
PyTensor's graph for ``y * eta - softplus(eta)`` spends most of each gradient in scalar
``exp``/``log1p`` calls (libm, one element at a time: about 8 ns each here), three per row
(softplus forward, sigmoid backward). This kernel computes ``exp(-|eta|)`` and ``log1p`` with
polynomials in plain arithmetic, which LLVM vectorises (AVX2/AVX-512), and gets the softplus
and the inverse logit from the same exponential; the population-level product and its
transpose run over a column-major design. :class:`LogitLogp` is one PyTensor Op returning
the log likelihood and its gradient (coefficients, flattened group-level effects); its
``L_op`` hands the gradient outputs of the same node to PyTensor's autodiff, so the forward
pass is not repeated.

Accuracy: :func:`exp_neg` and :func:`log1p_unit` agree with numpy to a few units in the last
place over their ranges (``tests/fast/test_fast_logit.py``); the densities are Stan's
``bernoulli_logit_lpmf`` and ``binomial_logit_lpmf`` with every constant.

Group-level effects come flattened: ``r`` is every block's ``(levels, effects)`` matrix raveled
row-major and concatenated, and term ``t`` adds ``r[pos[t, i]] * cov[t, i]`` to row ``i``, so
any number of blocks, nested or crossed, uses one kernel.

Import this module only where the fast engine builds a model (it needs numba and PyTensor,
part of the ``fast`` extra).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

#: the families (with the logit link) that use the kernel, with their codes
KINDS: dict[str, int] = {"bernoulli": 0, "binomial": 1}

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
#: exp(-|eta|) is clamped at exp(-700): softplus and the inverse logit there are < 1e-304
_CLAMP = -700.0


@numba.njit(nogil=True, fastmath={"contract"})
def _exp_neg(x: np.ndarray, out: np.ndarray) -> None:
    """``out = exp(max(x, -700))`` for ``x <= 0``: Cody-Waite reduction and a Taylor
    polynomial, written as branch-free loops LLVM vectorises.
    """
    n = x.shape[0]
    kf = np.empty(n)
    bits = np.empty(n, dtype=np.int64)
    for i in range(n):
        xi = max(x[i], _CLAMP)
        k = np.floor(xi * _INV_LN2 + 0.5)
        r = (xi - k * _LN2_HI) - k * _LN2_LO
        # Taylor series of exp(r), |r| <= ln(2) / 2, to 1 / 13! (error < 1e-17); written out
        # so the loop over rows is the innermost loop and vectorises
        q = 1.6059043836821613e-10
        q = q * r + 2.08767569878681e-09
        q = q * r + 2.505210838544172e-08
        q = q * r + 2.755731922398589e-07
        q = q * r + 2.7557319223985893e-06
        q = q * r + 2.48015873015873e-05
        q = q * r + 0.0001984126984126984
        q = q * r + 0.001388888888888889
        q = q * r + 0.008333333333333333
        q = q * r + 0.041666666666666664
        q = q * r + 0.16666666666666666
        q = q * r + 0.5
        q = q * r + 1.0
        q = q * r + 1.0
        out[i] = q
        kf[i] = k
    for i in range(n):
        bits[i] = (np.int64(kf[i]) + 1023) << 52
    scale = bits.view(np.float64)
    for i in range(n):
        out[i] *= scale[i]


@numba.njit(nogil=True, fastmath={"contract"})
def _log1p_unit(e: np.ndarray, out: np.ndarray) -> None:
    """``out = log1p(e)`` for ``0 <= e <= 1``: ``2 atanh(e / (2 + e))`` as a series in
    ``s^2 <= 1/9`` (17 terms), branch-free.
    """
    n = e.shape[0]
    for i in range(n):  # the division in its own loop: the series below then vectorises
        out[i] = e[i] / (2.0 + e[i])
    for i in range(n):
        s = out[i]
        s2 = s * s
        # sum_j s^(2j) / (2j + 1), j = 0..16: s^2 <= 1/9, so the tail is < 2e-17
        q = 0.030303030303030304
        q = q * s2 + 0.03225806451612903
        q = q * s2 + 0.034482758620689655
        q = q * s2 + 0.037037037037037035
        q = q * s2 + 0.04
        q = q * s2 + 0.043478260869565216
        q = q * s2 + 0.047619047619047616
        q = q * s2 + 0.05263157894736842
        q = q * s2 + 0.058823529411764705
        q = q * s2 + 0.06666666666666667
        q = q * s2 + 0.07692307692307693
        q = q * s2 + 0.09090909090909091
        q = q * s2 + 0.1111111111111111
        q = q * s2 + 0.14285714285714285
        q = q * s2 + 0.2
        q = q * s2 + 0.3333333333333333
        q = q * s2 + 1.0
        out[i] = 2.0 * s * q


# the reductions (the log likelihood, the transposed product) need reassociation to vectorise
@numba.njit(nogil=True, fastmath={"reassoc", "contract"})
def logit_kernel(kind: int, beta: np.ndarray, r: np.ndarray, XT: np.ndarray,
                 posT: np.ndarray, covT: np.ndarray, y: np.ndarray, trials: np.ndarray,
                 const: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Log likelihood and its gradient in ``beta`` and ``r``.

    ``XT`` is the ``(K, N)`` design (column-major rows), ``posT``/``covT`` ``(T, N)``; ``kind``
    0 is ``bernoulli_logit``, 1 ``binomial_logit`` (``trials``); ``const`` is the
    parameter-free part (``sum log C(n, y)``).
    """
    k, n = XT.shape
    eta = np.zeros(n)
    for j in range(k):
        bj = beta[j]
        for i in range(n):
            eta[i] += XT[j, i] * bj
    for m in range(posT.shape[0]):
        for i in range(n):
            eta[i] += r[posT[m, i]] * covT[m, i]
    neg = np.empty(n)
    for i in range(n):
        neg[i] = -abs(eta[i])
    e = np.empty(n)
    _exp_neg(neg, e)
    lg = np.empty(n)
    _log1p_unit(e, lg)
    g = np.empty(n)
    lp = 0.0
    for i in range(n):
        sp = max(eta[i], 0.0) + lg[i]  # softplus(eta)
        inv = 1.0 / (1.0 + e[i])
        p = inv if eta[i] >= 0.0 else e[i] * inv  # inverse logit
        if kind == 0:
            lp += y[i] * eta[i] - sp
            g[i] = y[i] - p
        else:
            lp += y[i] * eta[i] - trials[i] * sp
            g[i] = y[i] - trials[i] * p
    gbeta = np.zeros(k)
    for j in range(k):
        acc = 0.0
        for i in range(n):
            acc += XT[j, i] * g[i]
        gbeta[j] = acc
    gr = np.zeros(r.shape[0])
    for m in range(posT.shape[0]):
        for i in range(n):
            gr[posT[m, i]] += g[i] * covT[m, i]
    return lp + const, gbeta, gr


def exp_neg(x: np.ndarray) -> np.ndarray:
    """``exp(x)`` for ``x <= 0`` (clamped at -700) with the kernel's polynomial."""
    x = np.ascontiguousarray(x, dtype=float)
    out = np.empty_like(x)
    _exp_neg(x, out)
    return out


def log1p_unit(e: np.ndarray) -> np.ndarray:
    """``log1p(e)`` for ``0 <= e <= 1`` with the kernel's series."""
    e = np.ascontiguousarray(e, dtype=float)
    out = np.empty_like(e)
    _log1p_unit(e, out)
    return out


class LogitLogp(Op):
    """``(beta, r | XT, posT, covT, y, trials, const) -> (logp, dlogp/dbeta, dlogp/dr)``."""

    __props__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = int(kind)

    def make_node(self, beta, r, XT, posT, covT, y, trials, const):  # noqa: D102
        ins = [pt.as_tensor_variable(v) for v in (beta, r, XT, posT, covT, y, trials, const)]
        return Apply(self, ins, [pt.dscalar(), pt.dvector(), pt.dvector()])

    def perform(self, node, inputs, output_storage):  # noqa: D102
        beta, r, XT, posT, covT, y, trials, const = inputs
        lp, gb, gr = logit_kernel(self.kind, beta, r, XT, posT, covT, y, trials, float(const))
        output_storage[0][0] = np.asarray(lp)
        output_storage[1][0] = gb
        output_storage[2][0] = gr

    def L_op(self, inputs, outputs, output_grads):  # noqa: D102
        if not all(isinstance(g.type, DisconnectedType) for g in output_grads[1:]):
            raise NotImplementedError("the logit likelihood has first derivatives only")
        gl = output_grads[0]
        return [gl * outputs[1], gl * outputs[2], *[disconnected_type() for _ in inputs[2:]]]

    def connection_pattern(self, node):  # noqa: D102
        # the parameters reach every output; the data none
        return [[True] * 3] * 2 + [[False] * 3] * 6


@register_funcify_default_op_cache_key(LogitLogp)
def _numba_logit(op: LogitLogp, node: Any = None, **kwargs: Any) -> Any:
    """The Op in nutpie's numba backend: the kernel itself, with the family code bound."""
    kind = op.kind

    @numba.njit
    def logit_logp(beta, r, XT, posT, covT, y, trials, const):
        lp, gb, gr = logit_kernel(kind, beta, r, XT, posT, covT, y, trials, const.item())
        return np.asarray(lp), gb, gr

    return logit_logp


def logit_logp(family: str, beta: Any, r: Any, X: np.ndarray, pos: np.ndarray,
               cov: np.ndarray, y: np.ndarray, trials: np.ndarray | None = None) -> Any:
    """The log likelihood as a PyTensor scalar whose gradient comes from the kernel.

    Parameters
    ----------
    family : str
        ``bernoulli`` or ``binomial`` (logit link).
    beta, r : TensorVariable
        Coefficients matching ``X``'s columns, and the flattened group-level effects.
    X : ndarray
        ``(N, K)`` design.
    pos, cov : ndarray
        ``(N, T)`` positions in ``r`` and the values they multiply.
    y : ndarray
        Response.
    trials : ndarray, optional
        Binomial trials.
    """
    from scipy.special import gammaln

    kind = KINDS[family]
    y = np.ascontiguousarray(y, dtype=float)
    n = np.zeros_like(y) if trials is None else np.ascontiguousarray(trials, dtype=float)
    const = 0.0 if kind == 0 else float(np.sum(gammaln(n + 1) - gammaln(y + 1)
                                               - gammaln(n - y + 1)))
    return LogitLogp(kind)(beta, r, np.ascontiguousarray(np.asarray(X, dtype=float).T),
              np.ascontiguousarray(np.asarray(pos, dtype=np.int64).T),
              np.ascontiguousarray(np.asarray(cov, dtype=float).T), y, n,
              np.float64(const))[0]
