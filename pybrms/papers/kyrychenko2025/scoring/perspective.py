"""Perspective API client: all eight attributes in one ``comments:analyze`` call per text.

The API key comes from ``PERSPECTIVE_API_KEY`` (or the ``api_key`` argument) and never appears in
exceptions, logs or the cache: URLs are redacted, and urllib3's URL-logging is filtered.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable

import requests

from ....errors import PybrmsError, SpecError
from .base import API_NAMES, ATTRIBUTES, Scorer, ScoreResult
from .redact import install_log_redaction, redact

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze"
#: Permanent per-text errors (HTTP 400): recorded, never retried.
PERMANENT_ERRORS: tuple[str, ...] = (
    "COMMENT_TOO_LONG",
    "COMMENT_EMPTY",
    "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
    "LANGUAGE_DETECTION_FAILED",
)
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ScoringError(PybrmsError):
    """Scoring failed for good (bad key, retries exhausted); the message never holds the key."""


class RateLimiter:
    """Spaces calls at least ``1 / qps`` seconds apart (thread-safe).

    Parameters
    ----------
    qps : float
        Queries per second; must be positive.
    clock, sleep : callables
        Injected for tests (default :func:`time.monotonic`, :func:`time.sleep`).
    """

    def __init__(self, qps: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not qps > 0:
            raise SpecError(f"qps must be positive, got {qps!r}")
        self.interval = 1.0 / qps
        self.clock, self.sleep = clock, sleep
        self._next = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call is allowed."""
        with self._lock:
            now = self.clock()
            if self._next is not None and now < self._next:
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


def classify_400(body: object) -> tuple[str, str]:
    """Return ``(error_type, message)`` of a Perspective 400 response body.

    Looks at ``error.details[].errorType`` first, then at the message text; unknown errors are
    ``"INVALID_ARGUMENT"``.
    """
    err = body.get("error", {}) if isinstance(body, dict) else {}
    message = str(err.get("message", "")) if isinstance(err, dict) else ""
    details = err.get("details", []) if isinstance(err, dict) else []
    for d in details if isinstance(details, list) else []:
        et = d.get("errorType") if isinstance(d, dict) else None
        if et:
            return str(et), message
    upper = message.upper().replace(" ", "_")
    for name in PERMANENT_ERRORS:
        if name in upper:
            return name, message
    if "too long" in message.lower():
        return "COMMENT_TOO_LONG", message
    if "empty" in message.lower():
        return "COMMENT_EMPTY", message
    return "INVALID_ARGUMENT", message


def is_per_text(error_type: str) -> bool:
    """True for 400 errors caused by the text itself (recorded per text, not fatal).

    The four documented ones and any other ``COMMENT_*``/``LANGUAGE_*`` type; anything else
    (``API_KEY_INVALID``, a malformed request) concerns every text and is fatal.
    """
    return error_type in PERMANENT_ERRORS or error_type.startswith(("COMMENT_", "LANGUAGE_"))


class PerspectiveScorer(Scorer):
    """Score texts with Perspective API's eight attributes (English, ``doNotStore``).

    Parameters
    ----------
    endpoint : str, optional
        Full ``comments:analyze`` URL; default ``PERSPECTIVE_API_URL`` or Google's service.
    api_key : str, optional
        Default ``PERSPECTIVE_API_KEY``. Sent as the ``key`` query parameter.
    qps : float, default 1.0
        Query rate limit (the default quota is one query per second).
    timeout : float, default 30
        Seconds per request.
    max_retries : int, default 8
        Retries of 429, 5xx, timeouts and dropped connections before :class:`ScoringError`.
    backoff : float, default 1.0
        Base of the exponential backoff: attempt ``n`` waits ``uniform(0, min(cap,
        backoff * 2**n))`` seconds (full jitter), or ``Retry-After`` when larger.
    backoff_cap : float, default 60
        Longest backoff.
    sleep, clock : callables, optional
        Injected for tests.
    seed : int, optional
        Seed of the jitter.
    """

    name = "perspective"
    attributes = ATTRIBUTES

    def __init__(self, endpoint: str | None = None, api_key: str | None = None, *,
                 qps: float = 1.0, timeout: float = 30.0, max_retries: int = 8,
                 backoff: float = 1.0, backoff_cap: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, seed: int | None = None) -> None:
        self.endpoint = endpoint or os.environ.get("PERSPECTIVE_API_URL") or DEFAULT_ENDPOINT
        self._key = api_key if api_key is not None else os.environ.get("PERSPECTIVE_API_KEY")
        if not self._key:
            raise ScoringError("no Perspective API key: set PERSPECTIVE_API_KEY")
        self.timeout, self.max_retries = timeout, max_retries
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self.sleep = sleep
        self.limiter = RateLimiter(qps, clock=clock, sleep=sleep)
        self._rng = random.Random(seed)
        self._session = requests.Session()
        self.requests_sent = 0
        self.retries = 0
        install_log_redaction(self._key)

    def __repr__(self) -> str:
        """Describe the scorer without its key."""
        return f"PerspectiveScorer(endpoint={redact(self.endpoint)!r}, key=REDACTED)"

    def _payload(self, text: str) -> dict:
        return {
            "comment": {"text": text},
            "languages": ["en"],
            "doNotStore": True,
            "requestedAttributes": {API_NAMES[a]: {} for a in self.attributes},
        }

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self._rng.uniform(0, min(self.backoff_cap, self.backoff * 2 ** attempt))
        if retry_after:
            try:
                delay = max(delay, min(self.backoff_cap, float(retry_after)))
            except ValueError:
                pass
        return delay

    def score(self, text: str) -> ScoreResult:
        """Score one text; see :class:`~pybrms.papers.kyrychenko2025.scoring.base.Scorer`.

        Raises
        ------
        ScoringError
            On 401/403 or another non-retryable status, or when retries are exhausted. The
            message names the status and the redacted endpoint, never the key.
        """
        payload = self._payload(text)
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.retries += 1
            self.limiter.wait()
            self.requests_sent += 1
            retry_after = None
            try:
                resp = self._session.post(self.endpoint, params={"key": self._key},
                                          json=payload, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError,
                    requests.exceptions.ChunkedEncodingError) as exc:
                last = f"{type(exc).__name__}: {redact(str(exc), self._key)}"
                log.info("Perspective request failed (%s); retrying", type(exc).__name__)
            except requests.RequestException as exc:
                raise ScoringError(f"Perspective request to {redact(self.endpoint)} failed: "
                                   f"{type(exc).__name__}: {redact(str(exc), self._key)}"
                                   ) from None
            else:
                status = resp.status_code
                if status == 200:
                    return self._parse(resp)
                if status == 400:
                    try:
                        body = resp.json()
                    except ValueError:
                        body = {}
                    etype, message = classify_400(body)
                    if not is_per_text(etype):
                        raise ScoringError(f"Perspective refused the request ({etype}) at "
                                           f"{redact(self.endpoint)}: "
                                           f"{redact(message, self._key)[:200]}")
                    return ScoreResult(error=etype, detail=redact(message, self._key)[:300])
                if status not in RETRY_STATUS:
                    raise ScoringError(f"Perspective returned HTTP {status} from "
                                       f"{redact(self.endpoint)}: "
                                       f"{redact(resp.text, self._key)[:200]}")
                retry_after = resp.headers.get("Retry-After")
                last = f"HTTP {status}"
                log.info("Perspective returned HTTP %s; retrying", status)
            if attempt < self.max_retries:
                self.sleep(self._delay(attempt, retry_after))
        raise ScoringError(f"Perspective request to {redact(self.endpoint)} still failing after "
                           f"{self.max_retries} retries (last: {last})")

    def _parse(self, resp: requests.Response) -> ScoreResult:
        try:
            scores = resp.json()["attributeScores"]
            out = {a: float(scores[API_NAMES[a]]["summaryScore"]["value"])
                   for a in self.attributes}
        except (ValueError, KeyError, TypeError) as exc:
            raise ScoringError(f"unexpected Perspective response from {redact(self.endpoint)}: "
                               f"{type(exc).__name__} {redact(str(exc), self._key)[:100]}"
                               ) from None
        return ScoreResult(scores=out)
