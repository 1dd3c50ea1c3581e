"""A real threaded HTTP server on 127.0.0.1 speaking the Perspective ``comments:analyze`` protocol.

Scores are deterministic functions of the text's hash. Faults are injected per text and per
attempt: ``"429"``, ``"500"``, ``"503"``, ``"slow"`` (delay, then a normal answer), ``"timeout"``
(hang past the client's timeout, then close without answering), ``"drop"`` (close the
connection without answering) and ``"truncate"`` (send half of a 200 answer, then close; not
counted as scored). Texts listed in ``errors400`` get that Perspective 400 error.
The server counts every request and every delivered 200 per text.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PATH = "/v1alpha1/comments:analyze"
ATTRS = ("AFFINITY_EXPERIMENTAL", "COMPASSION_EXPERIMENTAL", "CURIOSITY_EXPERIMENTAL",
         "NUANCE_EXPERIMENTAL", "PERSONAL_STORY_EXPERIMENTAL", "REASONING_EXPERIMENTAL",
         "RESPECT_EXPERIMENTAL", "TOXICITY")
MAX_BYTES = 20480
#: short attribute name -> API name (as in pybrms.papers.kyrychenko2025.scoring.base.API_NAMES)
API_NAMES_FOR_TESTS = {a.removesuffix("_EXPERIMENTAL"): a for a in ATTRS}


def expected_score(text: str, attribute: str) -> float:
    """The score the server gives ``text`` for ``attribute`` (API name)."""
    h = hashlib.sha256(f"{attribute}\x00{text}".encode()).hexdigest()
    return round(int(h[:8], 16) / 2**32, 6)


def _error_body(code: int, status: str, message: str, error_type: str | None = None) -> dict:
    err = {"code": code, "message": message, "status": status}
    if error_type:
        err["details"] = [{"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                           "errorType": error_type}]
    return {"error": err}


class PerspectiveServer:
    """Start with ``with PerspectiveServer(key=...) as srv: srv.url`` (a random free port)."""

    def __init__(self, key: str, *, faults: Callable[[str, int], str | None] | None = None,
                 errors400: dict[str, str] | None = None, slow_seconds: float = 0.05,
                 hang_seconds: float = 1.0) -> None:
        self.key = key
        self.faults = faults or (lambda text, attempt: None)
        self.errors400 = dict(errors400 or {})
        self.slow_seconds, self.hang_seconds = slow_seconds, hang_seconds
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # per text, every request
        self.scored: Counter[str] = Counter()  # per text, delivered 200s
        self.refused: Counter[str] = Counter()  # per text, delivered 400s
        self.injected: Counter[str] = Counter()  # per fault kind
        self.bad_requests: list[str] = []
        self.total = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def do_POST(self):  # noqa: N802 - http.server API
                outer._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------------------------------
    def _handle(self, h) -> None:
        url = urlparse(h.path)
        length = int(h.headers.get("Content-Length", 0))
        raw = h.rfile.read(length)
        if url.path != PATH:
            h._send(404, _error_body(404, "NOT_FOUND", "unknown path"))
            return
        if parse_qs(url.query).get("key", [None])[0] != self.key:
            h._send(400, _error_body(400, "INVALID_ARGUMENT", "API key not valid.",
                                     "API_KEY_INVALID"))
            return
        try:
            body = json.loads(raw)
            text = body["comment"]["text"]
        except (ValueError, KeyError, TypeError):
            h._send(400, _error_body(400, "INVALID_ARGUMENT", "bad request body"))
            return
        problems = []
        if body.get("languages") != ["en"]:
            problems.append("languages")
        if body.get("doNotStore") is not True:
            problems.append("doNotStore")
        if sorted(body.get("requestedAttributes", {})) != sorted(ATTRS):
            problems.append("requestedAttributes")
        with self.lock:
            attempt = self.requests[text]
            self.requests[text] += 1
            self.total += 1
            if problems:
                self.bad_requests.append(",".join(problems))
        if problems:
            h._send(400, _error_body(400, "INVALID_ARGUMENT", f"bad fields {problems}"))
            return
        fault = self.faults(text, attempt)
        if fault:
            with self.lock:
                self.injected[fault] += 1
        if fault in ("429", "500", "503"):
            code = int(fault)
            status = "RESOURCE_EXHAUSTED" if code == 429 else "UNAVAILABLE"
            headers = {"Retry-After": "0"} if code == 429 else None
            h._send(code, _error_body(code, status, "injected"), headers)
            return
        if fault == "drop":
            h._drop()
            return
        if fault == "timeout":
            time.sleep(self.hang_seconds)
            h._drop()
            return
        if fault == "slow":
            time.sleep(self.slow_seconds)
        etype = self.errors400.get(text)
        if etype is None and not text.strip():
            etype = "COMMENT_EMPTY"
        if etype is None and len(text.encode()) > MAX_BYTES:
            etype = "COMMENT_TOO_LONG"
        if etype:
            with self.lock:
                self.refused[text] += 1
            h._send(400, _error_body(400, "INVALID_ARGUMENT", f"Comment rejected: {etype}",
                                     etype))
            return
        scores = {a: {"summaryScore": {"value": expected_score(text, a), "type": "PROBABILITY"}}
                  for a in ATTRS}
        body = {"attributeScores": scores, "languages": ["en"], "detectedLanguages": ["en"]}
        if fault == "truncate":  # the connection drops in the middle of the answer
            data = json.dumps(body).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h._drop()
            return
        h._send(200, body)
        with self.lock:
            self.scored[text] += 1

    # ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Full comments:analyze URL (no key)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def __enter__(self) -> PerspectiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


if __name__ == "__main__":  # run standalone: python perspective_server.py KEY
    import sys

    with PerspectiveServer(sys.argv[1] if len(sys.argv) > 1 else "test-key") as srv:
        print(srv.url, flush=True)
        while True:
            time.sleep(3600)
