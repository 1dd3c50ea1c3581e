"""The simulator's output is pinned: the same seed gives the same files as before the split.

The hashes below were produced by ``simulate.py`` at commit d35b23d (one 305-line
``simulate_prism``), before it became the ``simulate/`` package (compute, then write). A
change to the order of the random draws or to any formula changes them. No R.

``tests/fast/test_data_frames.py::test_bundled_dataset_is_reproducible`` pins the bundled
dataset (``jsonl.gz``, scale 0.05) the same way against its files.
"""

from __future__ import annotations

import gzip
import hashlib

import pandas as pd
import pytest

from pybrms.papers.kyrychenko2025.simulate import simulate_prism

# sha256 of each file's content: the JSONL text (decompressed for .jsonl.gz, whose bytes also
# depend on the zlib build), truth.json's bytes, and the scores read back and written as JSONL
# (a parquet file's bytes carry the pyarrow version that wrote it)
PINNED = {
    "seed12_scale0.01": (
        dict(seed=12, scale=0.01),
        {
            "survey": "749fde08308aabe0a302fc58f7771448afbeaae89a0d0feb8423cfa707a8299f",
            "conversations": "32f0a1e9689c873f771978964ebcdd6b4778992148320df5782a8f3fcfdb40e2",
            "utterances": "5f1950f3da18300ccd4a11e4e23e6238a76e1e087269393573d0499aebc6d719",
            "metadata": "46e05ef7f00f4ce88f029be124898a34937b16a606bdc483f87d3b4bfc04377f",
            "scores": "2cb3a375f08cfaa66e2f11cdd00a9bc270072aa45da9ae873748967b28f873eb",
            "truth": "85fcbd2715b7462b7e94701a18aabef7bf6482c8a3e5fe02a7f4a7f0799af24f",
        },
    ),
    "seed3_product_homogeneous_gz": (
        dict(seed=3, scale=0.02, reasoning_nuance="product", slopes="homogeneous",
             fmt="jsonl.gz"),
        {
            "survey": "a4e3ca6920098cacbdedd2eb3cb91cb5c95fbc48b1a932162225a29f2b634a94",
            "conversations": "c4d8c661b9b586fd697369b13e36dcf309fa5f6b4f683595d6cfe7965fe427e3",
            "utterances": "87bfcdb55614a7a7c2f8fb19602db713d86460c5e50054335ec247d7ba16ef86",
            "metadata": "84ba8b7a52c58e0b25ff011122cd35003a75a5e6005677c2ad04b910c03efe74",
            "scores": "65df49ebecea3fb1a6abc31025dd346ac8123f833963c0a4a2e98fd3a700e16d",
            "truth": "36d8a7205b3d7ca76eec6b8af3c5f531512abb2265101de65bf07a66813f9fd3",
        },
    ),
}


def _content_sha256(name: str, path) -> str:
    if name == "scores":
        data = pd.read_parquet(path).to_json(orient="records", lines=True).encode()
    elif path.name.endswith(".gz"):
        data = gzip.decompress(path.read_bytes())
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("case", sorted(PINNED))
def test_same_seed_gives_the_pinned_files(case, tmp_path):
    kwargs, want = PINNED[case]
    res = simulate_prism(tmp_path, **kwargs)
    got = {name: _content_sha256(name, path) for name, path in res.files.items()}
    assert got == want
