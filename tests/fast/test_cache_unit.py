"""Compile-cache bookkeeping (no R): keys, exact-code check, atomic entries."""

from pybrms.atomic import atomic_write_text
from pybrms.cache import ModelCache, program_key


def test_key_depends_on_code_and_toolchain():
    tc = {"rstan": "2.21.7", "makevars": "-O2"}
    assert program_key("model {}", tc) == program_key("model {}", dict(tc))
    assert program_key("model {}", tc) != program_key("model { }", tc)
    assert program_key("model {}", tc) != program_key("model {}", {**tc, "makevars": "-O3"})


def test_lookup_requires_identical_code(tmp_path):
    cache = ModelCache(tmp_path)
    tmp = cache.tmp_path()
    tmp.write_bytes(b"compiled")
    cache.commit("k1", tmp, "data { int N; }", {"rstan": "x"}, 12.5)
    assert cache.lookup("k1", "data { int N; }") == tmp_path / "k1.rds"
    # same key but different code (a collision or a tampered entry): never reused
    assert cache.lookup("k1", "data { int M; }") is None
    assert cache.lookup("k2", "data { int N; }") is None
    assert cache.stats.compiles == 1 and [e["key"] for e in cache.entries()] == ["k1"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a" / "f.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}" and [p.name for p in target.parent.iterdir()] == ["f.json"]
