"""``pybrms prism download`` against a loopback file server: resume, checksum, atomicity."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pybrms.errors import DataError
from pybrms.papers.kyrychenko2025.download import DownloadError, download_prism, read_sums

FILES = {f"{n}.jsonl": (f'{{"n": "{n}", "i": %d}}\n' * 1).encode() for n in
         ("survey", "conversations", "utterances", "metadata")}
FILES = {k: b"".join(b'{"file": "%s", "i": %d}\n' % (k.encode(), i) for i in range(3000))
         for k in FILES}


class FileServer:
    """Serves FILES under /base/ with Range support; faults configurable per path."""

    def __init__(self, files, *, drop_after=None, etag=True, corrupt=None):
        self.files = files
        self.drop_after = dict(drop_after or {})  # path -> bytes sent before dropping (once)
        self.corrupt = set(corrupt or ())
        self.etag = etag
        self.requests = Counter()
        self.ranges = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                outer.requests[name] += 1
                data = outer.files.get(name)
                if data is None or not self.path.startswith("/base/"):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                sha = hashlib.sha256(data).hexdigest()
                if name in outer.corrupt:
                    data = data[:-5] + b"XXXXX"
                start = 0
                rng = self.headers.get("Range")
                outer.ranges.append((name, rng))
                if rng:
                    start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                if outer.etag:
                    self.send_header("X-Linked-Etag", f'"{sha}"')
                self.end_headers()
                cut = outer.drop_after.pop(name, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/base"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()


def test_download_resumes_after_dropped_connection_and_verifies(tmp_path):
    with FileServer(FILES, drop_after={"utterances.jsonl": 20000}) as srv:
        got = download_prism(tmp_path, base_url=srv.base, backoff=0.01, timeout=5, chunk=4096)
    assert [g.name for g in got] == list(FILES)
    for name, data in FILES.items():
        assert (tmp_path / name).read_bytes() == data
    assert all(g.verified for g in got)  # against the server's X-Linked-Etag
    assert srv.requests["utterances.jsonl"] == 2
    resumed = [r for n, r in srv.ranges if n == "utterances.jsonl" and r]
    assert len(resumed) == 1  # the second request resumed from what was written
    offset = int(resumed[0][6:-1])
    assert 20000 - 4096 <= offset <= 20000 and offset % 4096 == 0
    sums = read_sums(tmp_path / "SHA256SUMS")
    assert sums["utterances.jsonl"] == hashlib.sha256(FILES["utterances.jsonl"]).hexdigest()
    assert not [p for p in os.listdir(tmp_path) if p.endswith((".part", ".tmp"))]


def test_download_skips_complete_files_and_resumes_existing_part(tmp_path):
    with FileServer(FILES) as srv:
        download_prism(tmp_path, base_url=srv.base, backoff=0.01)
        before = sum(srv.requests.values())
        again = download_prism(tmp_path, base_url=srv.base, backoff=0.01)
        assert sum(srv.requests.values()) == before and all(g.skipped for g in again)
    # a crash left half of survey.jsonl as the part file: the next run resumes it
    (tmp_path / "survey.jsonl").unlink()
    half = FILES["survey.jsonl"][:7000]
    (tmp_path / ".survey.jsonl.part").write_bytes(half)
    with FileServer(FILES) as srv2:
        got = download_prism(tmp_path, base_url=srv2.base, backoff=0.01)
        assert srv2.ranges == [("survey.jsonl", "bytes=7000-")]
    assert (tmp_path / "survey.jsonl").read_bytes() == FILES["survey.jsonl"]
    assert [g.skipped for g in got] == [False, True, True, True]  # only survey fetched


def test_checksum_mismatch_deletes_part_and_raises(tmp_path):
    with FileServer(FILES, corrupt={"metadata.jsonl"}) as srv:
        with pytest.raises(DataError, match=r"metadata\.jsonl: checksum mismatch"):
            download_prism(tmp_path, base_url=srv.base, backoff=0.01)
    assert not (tmp_path / "metadata.jsonl").exists()
    assert not (tmp_path / ".metadata.jsonl.part").exists()


def test_explicit_checksums_and_env_base_url(tmp_path, monkeypatch):
    wrong = {"survey.jsonl": "0" * 64}
    with FileServer(FILES, etag=False) as srv:
        monkeypatch.setenv("PYBRMS_PRISM_URL", srv.base)
        got = download_prism(tmp_path / "a")
        assert not any(g.verified for g in got)  # nothing to verify against: reported
        with pytest.raises(DataError, match="survey.jsonl: checksum mismatch"):
            download_prism(tmp_path / "b", checksums=wrong)
    assert (tmp_path / "a" / "utterances.jsonl").read_bytes() == FILES["utterances.jsonl"]


def test_missing_file_is_a_clear_error(tmp_path):
    files = {k: v for k, v in FILES.items() if k != "metadata.jsonl"}
    with FileServer(files) as srv:
        with pytest.raises(DownloadError, match=r"metadata\.jsonl: HTTP 404"):
            download_prism(tmp_path, base_url=srv.base, backoff=0.01)


def test_cli_prism_download_and_error_exit(tmp_path, capsys):
    from pybrms.cli import main

    with FileServer(FILES) as srv:
        assert main(["prism", "download", "--out", str(tmp_path), "--base-url", srv.base]) == 0
    err = capsys.readouterr().err
    for name, data in FILES.items():
        assert (tmp_path / name).read_bytes() == data
        assert f"downloaded {name} sha256 {hashlib.sha256(data).hexdigest()}" in err
    with FileServer({}) as srv:
        rc = main(["prism", "download", "--out", str(tmp_path / "x"), "--base-url", srv.base])
    assert rc == 2
    assert "pybrms: error: survey.jsonl: HTTP 404" in capsys.readouterr().err
