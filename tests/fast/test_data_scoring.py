"""Perspective scoring against a fault-injecting loopback server; cache, resume, key hygiene."""

from __future__ import annotations

import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from perspective_server import ATTRS, PerspectiveServer, expected_score  # noqa: E402

from pybrms.errors import DataError  # noqa: E402
from pybrms.papers.kyrychenko2025.scoring.base import API_NAMES, ATTRIBUTES, text_sha256  # noqa: E402
from pybrms.papers.kyrychenko2025.scoring.cache import ScoreCache  # noqa: E402
from pybrms.papers.kyrychenko2025.scoring.importer import import_scores  # noqa: E402
from pybrms.papers.kyrychenko2025.scoring.perspective import (  # noqa: E402
    PerspectiveScorer,
    RateLimiter,
    ScoringError,
    classify_400,
)
from pybrms.papers.kyrychenko2025.scoring.run import score_texts  # noqa: E402

KEY = "PBRMS-FAKE-KEY-7f3a9c41d2"
N = 500
LANG_UNSUPPORTED = {f"text {i}: ceci n'est pas anglais" for i in range(3)}
LANG_FAILED = {f"text {i}: ???" for i in range(3, 5)}


def make_texts() -> list[str]:
    texts = [f"text {i}: a constructive reply number {i}" for i in range(N - 7)]
    texts += sorted(LANG_UNSUPPORTED) + sorted(LANG_FAILED)
    texts.append("")  # COMMENT_EMPTY
    texts.append("x" * 20481)  # COMMENT_TOO_LONG (20,480-byte limit)
    assert len(texts) == N == len(set(texts))
    return texts


def expected_error(text: str) -> str | None:
    if text in LANG_UNSUPPORTED:
        return "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    if text in LANG_FAILED:
        return "LANGUAGE_DETECTION_FAILED"
    if text == "":
        return "COMMENT_EMPTY"
    if len(text) > 20480:
        return "COMMENT_TOO_LONG"
    return None


def fault_plan(text: str, attempt: int) -> str | None:
    """Deterministic faults by text hash, consumed on the first attempts (about 20% of texts)."""
    h = int(text_sha256(text)[:8], 16)
    plan = {0: ["429", "429"], 1: ["500"], 2: ["503", "500"], 3: ["drop"], 4: ["slow"],
            5: ["truncate", "429"], 6: ["timeout"] if (h // 40) % 2 == 0 else ["drop"],
            7: ["drop", "drop", "500"]}.get(h % 40, [])
    return plan[attempt] if attempt < len(plan) else None


def server(**kw) -> PerspectiveServer:
    errors = {t: "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE" for t in LANG_UNSUPPORTED}
    errors.update({t: "LANGUAGE_DETECTION_FAILED" for t in LANG_FAILED})
    kw.setdefault("faults", fault_plan)
    return PerspectiveServer(KEY, errors400=errors, slow_seconds=0.02, hang_seconds=0.6, **kw)


def scorer(url: str, **kw) -> PerspectiveScorer:
    kw.setdefault("qps", 1000.0)
    return PerspectiveScorer(url, KEY, timeout=0.3, backoff=0.005, backoff_cap=0.02, seed=1,
                             max_retries=6, **kw)


def check_complete(frame: pd.DataFrame, texts: list[str]) -> None:
    by_sha = frame.set_index("text_sha256")
    assert len(by_sha) == len(texts)
    for t in texts:
        row = by_sha.loc[text_sha256(t)]
        err = expected_error(t)
        if err:
            assert row["error"] == err
            assert pd.isna(row["TOXICITY"])
        else:
            assert row["error"] is None or pd.isna(row["error"])
            for a in ATTRIBUTES:
                assert row[a] == pytest.approx(expected_score(t, API_NAMES[a]), abs=1e-9)
            assert row["scorer"] == "perspective"
            assert row["scored_at"].startswith("20")


def test_500_texts_with_injected_faults_all_scored_once(tmp_path):
    texts = make_texts()
    progress = io.StringIO()
    with server() as srv, ScoreCache(tmp_path / "c.sqlite") as cache:
        sc = scorer(srv.url)
        summary = score_texts(texts, sc, cache, progress=progress, every=0.0)
        check_complete(cache.to_frame(), texts)
        # faults really happened, of every kind
        for kind in ("429", "500", "503", "drop", "truncate", "slow", "timeout"):
            assert srv.injected[kind] > 0, kind
        assert srv.bad_requests == []  # every request had the 8 attributes, ["en"], doNotStore
        # nothing scored twice; each 400 asked once (not retried)
        assert max(srv.scored.values()) == 1
        assert sum(srv.scored.values()) == N - 7 == summary.scored
        assert all(srv.refused[t] == 1 for t in texts if expected_error(t))
        assert summary.errors == 7
        assert sc.retries == sum(srv.injected.values()) - srv.injected["slow"]  # slow: no retry
        # re-running queries nothing
        total = srv.total
        again = score_texts(texts, scorer(srv.url), cache, progress=None)
        assert srv.total == total
        assert (again.cached, again.scored, again.errors) == (N, 0, 0)
    out = progress.getvalue()
    assert "remaining" in out and "ETA" in out and "errors 7" in out and "finished" in out


def test_interrupted_run_resumes_to_same_result(tmp_path):
    texts = make_texts()

    def stop_at_200(n, sha):
        if n == 200:
            raise KeyboardInterrupt

    with server() as srv, ScoreCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(KeyboardInterrupt):
            score_texts(texts, scorer(srv.url), cache, progress=None, on_result=stop_at_200)
        assert len(cache) == 200
        first_total = sum(srv.scored.values()) + sum(srv.refused.values())
        assert first_total == 200
        summary = score_texts(texts, scorer(srv.url), cache, progress=None)
        assert summary.cached == 200 and summary.scored + summary.errors == 300
        assert max(srv.scored.values()) == 1
        resumed = cache.to_frame()
    check_complete(resumed, texts)
    # same result as an uninterrupted run on a fresh server and cache
    with server(faults=None) as srv2, ScoreCache(tmp_path / "ref.sqlite") as ref:
        score_texts(texts, scorer(srv2.url), ref, progress=None)
        reference = ref.to_frame()
    cols = ["text_sha256", *ATTRIBUTES, "error", "scorer"]
    pd.testing.assert_frame_equal(resumed[cols], reference[cols])


CHILD = r"""
import sys
from pybrms.papers.kyrychenko2025.scoring.cache import ScoreCache
from pybrms.papers.kyrychenko2025.scoring.perspective import PerspectiveScorer
from pybrms.papers.kyrychenko2025.scoring.run import score_texts
texts = [f"kill test {i}" for i in range(300)]
sc = PerspectiveScorer(sys.argv[1], qps=60.0, timeout=2.0)
with ScoreCache(sys.argv[2]) as cache:
    score_texts(texts, sc, cache, progress=None)
"""


def test_killed_subprocess_resumes(tmp_path):
    texts = [f"kill test {i}" for i in range(300)]
    db = tmp_path / "kill.sqlite"
    env = {**os.environ, "PERSPECTIVE_API_KEY": KEY}
    with server(faults=None) as srv:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, srv.url, str(db)], env=env,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    with sqlite3.connect(db) as con:
                        n = con.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
            if n >= 60:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        with ScoreCache(db) as cache:
            kept = len(cache)
            assert 60 <= kept < 300
            summary = score_texts(texts, scorer(srv.url), cache, progress=None)
            assert summary.cached == kept and summary.scored == 300 - kept
            frame = cache.to_frame()
        # at most the one request in flight at the kill was answered twice
        assert sum(srv.scored.values()) <= 301
        assert sum(1 for v in srv.scored.values() if v > 1) <= 1
    assert len(frame) == 300 and frame["error"].isna().all()
    check_complete(frame, texts)  # the same result an uninterrupted run gives


def test_api_key_absent_from_cache_logs_and_errors(tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    texts = [f"leak check {i}" for i in range(40)] + [""]
    messages = []
    with server() as srv:
        with ScoreCache(tmp_path / "k.sqlite") as cache:
            score_texts(texts, scorer(srv.url), cache, every=0.0)
        # always-failing server: retries exhausted
        with PerspectiveServer(KEY, faults=lambda t, a: "500") as bad:
            with pytest.raises(ScoringError) as e1:
                scorer(bad.url, ).score("anything")
            messages.append(str(e1.value))
        with PerspectiveServer(KEY, faults=lambda t, a: "drop") as bad:
            with pytest.raises(ScoringError) as e2:
                scorer(bad.url).score("anything")
            messages.append(str(e2.value))
        # wrong key: the server's API_KEY_INVALID is fatal, not a per-text error
        wrong = PerspectiveScorer(srv.url, KEY + "-wrong", qps=1000.0, seed=1)
        with pytest.raises(ScoringError) as e3:
            wrong.score("anything")
        messages.append(str(e3.value))
        assert "API_KEY_INVALID" in messages[-1]
    # nothing listening: requests' own message carries the URL with ?key=...
    s = PerspectiveScorer("http://127.0.0.1:9/v1alpha1/comments:analyze", KEY, qps=1000.0,
                          max_retries=1, backoff=0.001, timeout=0.5)
    with pytest.raises(ScoringError) as e4:
        s.score("anything")
    messages.append(str(e4.value))
    assert "key=REDACTED" in messages[-1]  # the URL was there, redacted
    blobs = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert KEY.encode() not in blobs
    assert len(blobs) > 4096
    captured = capsys.readouterr()
    assert "scoring:" in captured.err  # progress went to stderr
    logs = caplog.text
    assert "comments:analyze?key=REDACTED" in logs  # urllib3 logged the URL, redacted
    for text in [logs, captured.err, captured.out, repr(s), *messages]:
        assert KEY not in text
        assert KEY[:12] not in text


def test_rate_limiter_spaces_calls():
    now = [0.0]
    slept = []

    def sleep(d):
        slept.append(d)
        now[0] += d

    lim = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        lim.wait()
    assert sum(slept) == pytest.approx(2.0)
    assert now[0] == pytest.approx(2.0)
    with pytest.raises(Exception, match="qps"):
        RateLimiter(0)


def test_default_qps_is_one_per_second_and_backoff_is_bounded_jitter():
    now = [0.0]
    backoffs, waits, sent = [], [], []

    def backoff_sleep(d):
        backoffs.append(d)
        now[0] += d

    def limiter_sleep(d):
        waits.append(d)
        now[0] += d

    def faults(text, attempt):
        sent.append(now[0])
        return "429" if attempt < 4 else None

    with PerspectiveServer(KEY, faults=faults) as srv:
        sc = PerspectiveScorer(srv.url, KEY, sleep=backoff_sleep, clock=lambda: now[0],
                               backoff=1.0, backoff_cap=60.0, seed=3)
        sc.limiter.sleep = limiter_sleep
        assert sc.limiter.interval == 1.0  # default 1 query per second
        res = sc.score("retry me")
        assert res.ok
        assert res.scores["TOXICITY"] == pytest.approx(expected_score("retry me", "TOXICITY"))
        assert srv.requests["retry me"] == 5 and sc.retries == 4
    assert len(backoffs) == 4
    assert all(0 <= d <= 2.0**n for n, d in enumerate(backoffs))  # exponential cap
    assert any(d < 0.9 * 2.0**n for n, d in enumerate(backoffs))  # jittered, not fixed
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 1.0 - 1e-9  # never faster than 1 query per second


def test_classify_400():
    body = {"error": {"code": 400, "message": "x", "details": [{"errorType": "COMMENT_EMPTY"}]}}
    assert classify_400(body) == ("COMMENT_EMPTY", "x")
    assert classify_400({"error": {"message": "Comment too long"}})[0] == "COMMENT_TOO_LONG"
    assert classify_400({"error": {"message": "LANGUAGE_DETECTION_FAILED: und"}})[0] == (
        "LANGUAGE_DETECTION_FAILED")
    assert classify_400({})[0] == "INVALID_ARGUMENT"


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    with pytest.raises(ScoringError, match="PERSPECTIVE_API_KEY"):
        PerspectiveScorer("http://127.0.0.1:9/x")


def test_endpoint_from_environment(monkeypatch):
    monkeypatch.setenv("PERSPECTIVE_API_URL", "http://127.0.0.1:1/v1alpha1/comments:analyze")
    monkeypatch.setenv("PERSPECTIVE_API_KEY", KEY)
    sc = PerspectiveScorer()
    assert sc.endpoint.endswith(":1/v1alpha1/comments:analyze")
    assert KEY not in repr(sc)
    assert len(ATTRS) == 8 == len(sc._payload("t")["requestedAttributes"])


def test_import_scored_csv(tmp_path):
    rows = [{"text": f"t{i}", **{API_NAMES[a]: 0.1 * (j + 1) / 2 for j, a in
                                 enumerate(ATTRIBUTES)}} for i in range(3)]
    rows.append(dict(rows[0]))  # an identical repeat collapses
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    out = import_scores(tmp_path / "s.csv", scorer="authors-osf", scored_at="2024-05")
    assert len(out) == 3
    assert out.loc[0, "text_sha256"] == text_sha256("t0")
    assert out["REASONING"].iloc[0] == pytest.approx(0.3)
    assert set(out["scorer"]) == {"authors-osf"}
    bad = pd.DataFrame(rows).drop(columns=["NUANCE_EXPERIMENTAL"])
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match="NUANCE"):
        import_scores(tmp_path / "b.csv")
    worse = pd.DataFrame(rows)
    worse.loc[1, "TOXICITY"] = 1.5
    worse.to_parquet(tmp_path / "w.parquet")
    with pytest.raises(DataError, match=r"w.parquet row 2: column 'TOXICITY'"):
        import_scores(tmp_path / "w.parquet")
    conflict = pd.DataFrame(rows)
    conflict.loc[3, "TOXICITY"] = 0.9
    conflict.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match="duplicated"):
        import_scores(tmp_path / "c.csv")
