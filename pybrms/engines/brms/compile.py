"""Compile once: a brms model's Stan program from the cache, or compiled into it.

brms's ``backends.R`` compiles with ``rstan::stan_model()``; pybrms does the same, keyed by
the exact Stan code and toolchain (:mod:`pybrms.cache`), so each distinct program compiles
once per cache, whichever process or worker asks first.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ... import bridge
from ...cache import ModelCache, program_key


def toolchain() -> dict[str, str]:
    """Everything besides the Stan code that changes a compiled binary (part of the cache key)."""
    return bridge.session().toolchain()


def say(msg: str, quiet: bool) -> None:
    """A progress line on stderr (nothing when ``quiet``)."""
    if not quiet:
        print(f"pybrms: {msg}", file=sys.stderr, flush=True)


def compiled_model(stancode: str, cache: ModelCache, quiet: bool = False) -> tuple[Any, str, bool]:
    """Return ``(R stanmodel, key, compiled_now)`` for ``stancode``, compiling only on a miss.

    The cache given decides: a program counts as reused only when that cache holds it (its
    stored code compared character by character). A program already loaded in this process
    but missing from ``cache`` is written into it instead of being compiled again.
    """
    r = bridge.session()
    key = program_key(stancode, r.toolchain())
    path = cache.lookup(key, stancode)
    if path is not None:
        cache.record_hit()
        if key in r.programs:
            say(f"reusing compiled Stan program {key[:12]} (loaded in this process)", quiet)
        else:
            r.programs[key] = bridge.call("pybrms_read_rds", str(path))
            say(f"reusing compiled Stan program {key[:12]} from {cache.directory}", quiet)
        return r.programs[key], key, False
    if key in r.programs:
        model, seconds, compiled = r.programs[key], 0.0, False
        say(f"storing Stan program {key[:12]} (loaded in this process) in {cache.directory}",
             quiet)
    else:
        say(f"compiling Stan program {key[:12]} (about 70-90 s)...", quiet)
        t0 = time.perf_counter()
        model = bridge.call("pybrms_compile", stancode)
        seconds, compiled = time.perf_counter() - t0, True
    tmp = cache.tmp_path()
    try:
        bridge.call("pybrms_save_rds", model, str(tmp))
        cache.commit(key, tmp, stancode, r.toolchain(), seconds)
    finally:
        tmp.unlink(missing_ok=True)
    if compiled:
        say(f"compiled in {seconds:.1f} s; cached as {key[:12]}", quiet)
    r.programs[key] = model
    return model, key, compiled

