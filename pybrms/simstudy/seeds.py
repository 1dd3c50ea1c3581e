"""One independent, reproducible random stream per condition and replicate.

Replicate ``r`` of condition ``c`` draws its data from
``numpy.random.SeedSequence(study_seed, spawn_key=(condition_key(c), r, 0))``: the stream
depends only on the study's seed, the condition's values and ``r``, so the replicate has the
same data whichever worker runs it, in whatever order, and whatever ``--reps`` is (a study
grown from 100 to 200 replicates keeps its first 100). Spawn keys make the streams
statistically independent (numpy's ``SeedSequence`` design). The samplers' seed of the
replicate (one integer, shared by every method so that their draws are comparable) comes from
the sibling key ``(condition_key(c), r, 1)``; the SBC truth draw from ``(..., 2)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

#: the spawn-key slot of each stream of a replicate
DATA, SAMPLER, TRUTH = 0, 1, 2


def condition_key(condition: Mapping[str, Any]) -> int:
    """A stable 63-bit integer of a condition's values (axis order does not matter)."""
    text = json.dumps({str(k): condition[k] for k in sorted(condition)}, sort_keys=True,
                      default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def seed_sequence(study_seed: int, condition: Mapping[str, Any], rep: int,
                  stream: int = DATA) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one stream of one replicate."""
    return np.random.SeedSequence(int(study_seed),
                                  spawn_key=(condition_key(condition), int(rep), int(stream)))


def replicate_rng(study_seed: int, condition: Mapping[str, Any], rep: int,
                  stream: int = DATA) -> np.random.Generator:
    """The numpy Generator a replicate's data (or truths) are drawn with."""
    return np.random.default_rng(seed_sequence(study_seed, condition, rep, stream))


def sampler_seed(study_seed: int, condition: Mapping[str, Any], rep: int) -> int:
    """The samplers' seed of a replicate (an int below 2**31, as Stan takes)."""
    state = seed_sequence(study_seed, condition, rep, SAMPLER).generate_state(1)
    return int(state[0] % (2**31 - 1))
