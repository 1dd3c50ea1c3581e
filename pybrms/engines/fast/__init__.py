"""The fast engine: brms's model and brms's priors, sampled by nutpie through PyMC.

For grids, coverage studies and simulation-based calibration, where exact brms (rstan on
brms's Stan program) costs tens of minutes per model. The model is brms's own:

1. **from brms** (R, no Stan compile): ``validate_prior()`` gives the full prior table,
   brms's data-dependent defaults (``student_t(3, median(y), mad(y))`` on the Intercept...)
   merged with the user's priors; ``make_standata()`` gives the population-level design and,
   for every group-level term, an integer level index per row and the term's covariates
   (``(1 | a/b)`` is the two factors ``a`` and ``a:b``); nothing row-by-level is built;
2. **in PyMC** (:mod:`.model`): brms's Stan program re-written: centred
   design with the Intercept prior on the centred intercept, non-centred group-level effects,
   LKJ Cholesky factors for correlated effects, each prior as the density brms adds;
3. **sampled** by nutpie (PyMC's numba backend; no network at run time);
4. **reported** with brms's names (``b_x``, ``sd_g__Intercept``, ``cor_g__Intercept__x``,
   ``sigma``), the shared tidy schema and an ArviZ ``InferenceData``.

It is not brms: the draws are another sampler's, so numbers agree with brms's within Monte
Carlo error, not bit for bit (``capabilities.exact`` is False). :func:`pybrms.verify`
measures that agreement on a pilot run. :func:`check` refuses, before R or data are
touched, every formula, family or prior it cannot express, naming the term.

Modules: :mod:`.check` (what it can express), :mod:`.inputs` (brms's prior table and Stan
data), :mod:`.model` and :mod:`.priors` (the PyMC model), :mod:`.logit` (the logit
likelihood kernel), :mod:`.sampling` (nutpie), :mod:`.result` (:class:`FastFit`).
"""

from __future__ import annotations

from ..base import Capabilities
from .check import check
from .inputs import brms_inputs, preflight
from .options import NAME, FastOptions
from .result import METHOD, FastFit
from .sampling import fit, sample

name = NAME
#: ``compiles`` is False: nutpie compiles per fit, but pybrms's Stan compile cache does not apply
capabilities = Capabilities(bayesian=True, hypotheses=True, draws=True, sampler=True,
                            uses_priors=True)
options = FastOptions

__all__ = ["METHOD", "NAME", "FastFit", "FastOptions", "brms_inputs", "capabilities", "check",
           "fit", "name", "options", "preflight", "sample"]
