"""Nested group-level terms cost index vectors, not a rows x levels matrix.

``(1 | user/conversation)`` on 20,000 rows with 1,000 users and 10^4 conversations: a dense
group design (what bambi's formula layer builds) would be 20,000 x 11,000 doubles = 1.76 GB,
twice over with its gradient. The fast engine's model holds two integer index vectors; the
whole build + nutpie compile + a short sampling run in a fresh process must stay far below
that (measured 2026-12-01: peak RSS grew by 0.13 GB, numba/LLVM compiling included,
with the model's data at 1.1 MB).
"""

import json
import subprocess
import sys

SCRIPT = r"""
import json, resource
import numpy as np
import nutpie, pymc  # baseline includes the libraries
from pybrms.engines.fast import model as fast_model
from pybrms.engines.fast import priors as fast_priors
from pybrms.spec.families import parse_family
import pandas as pd

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = rss_mb()
rng = np.random.default_rng(1)
n, users, convs = 20_000, 1_000, 10_000
conv = np.arange(n) % convs
user = conv % users                       # every conversation belongs to one user
x = rng.normal(size=n)
eta = 0.5 * x + rng.normal(0, 0.5, users)[user] + rng.normal(0, 0.5, convs)[conv]
y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
table = pd.DataFrame([
    ["", "b", "", "", "", "", "", "", "", "default"],
    ["student_t(3, 0, 2.5)", "Intercept", "", "", "", "", "", "", "", "default"],
    ["student_t(3, 0, 2.5)", "sd", "", "", "", "", "", "0", "", "default"],
], columns=list(fast_priors.PRIOR_COLUMNS))
ones = np.ones((n, 1))
md = fast_model.ModelData(
    family=parse_family("bernoulli"), y=y, X=np.column_stack([np.ones(n), x]),
    xnames=("Intercept", "x"), centred=True, prior=fast_priors.prior_table(table),
    groups=[
        fast_model.GroupBlock(1, "user", ("Intercept",), user, ones,
                              tuple(map(str, range(users)))),
        fast_model.GroupBlock(2, "user:conversation", ("Intercept",), conv, ones,
                              tuple(map(str, range(convs)))),
    ])
model = fast_model.build_model(md)
compiled = nutpie.compile_pymc_model(model, backend="numba",
                                     var_names=[v.name for v in model.free_RVs])
trace = nutpie.sample(compiled, draws=30, tune=30, chains=1, seed=1, progress_bar=False)
b = float(trace.posterior["b"].mean())
print(json.dumps({"base_mb": base, "peak_mb": rss_mb(), "model_bytes": md.nbytes(),
                  "levels": sum(g.n_levels for g in md.groups), "b": b}))
"""


def test_ten_thousand_nested_levels_without_a_dense_matrix():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    assert rec["levels"] == 11_000
    dense_mb = 20_000 * 11_000 * 8 / 2**20  # 1678 MB
    # the model's data: X (2 columns), y, two index vectors and two covariate columns
    assert rec["model_bytes"] < 1.2e6
    growth = rec["peak_mb"] - rec["base_mb"]
    assert growth < 0.4 * dense_mb, rec
    assert -1.0 < rec["b"] < 2.0  # it sampled (30 draws: only a sanity range)
