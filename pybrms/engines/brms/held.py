"""What every part of :class:`~pybrms.engines.brms.brmsfit.BrmsFit` holds.

brms splits its fitted-model methods into one R file per concern (``summary.R``, ``loo.R``,
``posterior_predict.R``...); :class:`BrmsFit` does the same with one mixin per module, each
working on the attributes declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HeldFit:
    """The state a brmsfit's methods share: the R object, a cache and the provenance."""

    #: the R ``brmsfit``
    _r: Any
    #: values computed once per fit (summary, loo...)
    _cache: dict[str, Any]
    #: in the layout of :func:`pybrms.results.make_provenance`
    provenance: dict[str, Any]

    #: number of post-warm-up draws (:class:`~.summaries.SummaryMethods`)
    ndraws: int
    #: annotations only: a value here would come before ``PosteriorFitResult`` in the MRO
    warn_diagnostics: Callable[[], dict[str, Any]]
