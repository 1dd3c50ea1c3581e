"""Download the PRISM files from Hugging Face (or any mirror): resumable, checksummed, atomic.

Each file streams into ``DIR/.<name>.part``; an interrupted transfer resumes with an HTTP
``Range`` request; the finished file's SHA-256 is checked (against a given checksum, else the
server's ``X-Linked-Etag``/``ETag`` when it is a SHA-256, as Hugging Face sends for LFS files)
and only then moved into place with :func:`os.replace`. ``DIR/SHA256SUMS`` records the sums.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import requests

from ...atomic import atomic_write_text
from ...config import config
from ...errors import DataError, PybrmsError, SpecError
from ...hashing import sha256_file
from .prism import FILES
from .scoring.redact import redact

REPO = "HannahRoseKirk/prism-alignment"
DEFAULT_BASE_URLS = {
    "jsonl": f"https://huggingface.co/datasets/{REPO}/resolve/main",
    "parquet": f"https://huggingface.co/datasets/{REPO}/resolve/refs%2Fconvert%2Fparquet",
}
ENV_BASE_URL = "PYBRMS_PRISM_URL"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(PybrmsError):
    """A download failed after its retries (the message names the file and the status)."""


@dataclass(frozen=True)
class Downloaded:
    """One downloaded file.

    Attributes
    ----------
    name : str
        Local file name.
    path : Path
        Where it is.
    sha256 : str
        Its checksum.
    verified : bool
        True when the checksum was compared with an expected value.
    skipped : bool
        True when an already-complete file was kept.
    """

    name: str
    path: Path
    sha256: str
    verified: bool
    skipped: bool = False


def remote_paths(fmt: str) -> dict[str, str]:
    """Map local file name to remote path for ``fmt`` ("jsonl" or "parquet")."""
    if fmt == "jsonl":
        return {f"{n}.jsonl": f"{n}.jsonl" for n in FILES}
    if fmt == "parquet":
        return {f"{n}.parquet": f"{n}/train/0000.parquet" for n in FILES}
    raise SpecError(f"format must be 'jsonl' or 'parquet', got {fmt!r}")


def read_sums(path: Path) -> dict[str, str]:
    """Read a ``sha256sum``-style file (``<hex>  <name>`` per line)."""
    sums = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and _HEX64.match(parts[0]):
                sums[parts[1].lstrip("*")] = parts[0]
    return sums


def _write_sums(path: Path, sums: dict[str, str]) -> None:
    atomic_write_text(path, "".join(f"{v}  {k}\n" for k, v in sorted(sums.items())))


def _server_sha(resp: requests.Response) -> str | None:
    for h in ("X-Linked-Etag", "ETag"):
        v = resp.headers.get(h, "").strip().strip('"').removeprefix("W/").strip('"').lower()
        if _HEX64.match(v):
            return v
    return None


def download_file(session: requests.Session, url: str, dest: Path, *,
                  expected_sha256: str | None = None, retries: int = 5, timeout: float = 60.0,
                  chunk: int = 1 << 18, backoff: float = 1.0) -> Downloaded:
    """Download ``url`` to ``dest`` resumably; verify; move into place atomically.

    Parameters
    ----------
    session : requests.Session
        HTTP session.
    url : str
        Source URL.
    dest : Path
        Final path; the transfer goes to ``.<name>.part`` beside it.
    expected_sha256 : str, optional
        Known checksum; else the server's ``X-Linked-Etag``/``ETag`` if it is a SHA-256.
    retries : int
        Attempts after a dropped connection, a timeout or a 5xx (each resumes).
    timeout, chunk, backoff : float, int, float
        Per-request timeout, read size, and base of the retry wait.

    Returns
    -------
    Downloaded
        Path, checksum, whether it was verified.

    Raises
    ------
    DownloadError
        On a 4xx, retries exhausted, or a size mismatch.
    DataError
        On a checksum mismatch (the partial file is deleted).
    """
    part = dest.with_name(f".{dest.name}.part")
    expected = expected_sha256.lower() if expected_sha256 else None
    total = None
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout) as resp:
                if resp.status_code == 416 and offset:
                    m = re.match(r"bytes \*/(\d+)", resp.headers.get("Content-Range", ""))
                    if m and int(m.group(1)) == offset:  # the part file is already complete
                        total = offset
                        break
                    part.unlink()  # inconsistent partial file: start again
                    last = "HTTP 416"
                    continue
                if resp.status_code >= 500 or resp.status_code == 429:
                    last = f"HTTP {resp.status_code}"
                    continue
                if resp.status_code not in (200, 206):
                    raise DownloadError(f"{dest.name}: HTTP {resp.status_code} from "
                                        f"{redact(url)}")
                expected = expected or _server_sha(resp)
                if resp.status_code == 206:
                    m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)",
                                 resp.headers.get("Content-Range", ""))
                    if not m or int(m.group(1)) != offset:
                        raise DownloadError(f"{dest.name}: server answered the range request "
                                            f"from byte {offset} with "
                                            f"{resp.headers.get('Content-Range')!r}")
                    if m.group(3) != "*":
                        total = int(m.group(3))
                    mode = "ab"
                else:
                    offset = 0
                    mode = "wb"
                    cl = resp.headers.get("Content-Length")
                    total = int(cl) if cl and cl.isdigit() else None
                with open(part, mode) as fh:
                    for block in resp.iter_content(chunk):
                        fh.write(block)
                    fh.flush()
                    os.fsync(fh.fileno())
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            last = type(exc).__name__
            continue
        size = part.stat().st_size if part.exists() else 0
        if total is None or size == total:
            break
        last = f"incomplete: {size} of {total} bytes"
    else:
        raise DownloadError(f"{dest.name}: download from {redact(url)} failed after {retries} "
                            f"retries ({last}); rerun to resume from the partial file")
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{dest.name}: got {size} bytes, expected {total}")
    digest = sha256_file(part)
    if expected and digest != expected:
        part.unlink()
        raise DataError(f"{dest.name}: checksum mismatch (expected sha256 {expected}, got "
                        f"{digest}); the partial file was deleted, rerun to download again")
    os.replace(part, dest)
    return Downloaded(dest.name, dest, digest, verified=expected is not None)


def download_prism(out: str | os.PathLike, *, base_url: str | None = None, fmt: str = "jsonl",
                   checksums: dict[str, str] | None = None, force: bool = False,
                   session: requests.Session | None = None, retries: int = 5,
                   timeout: float = 60.0, backoff: float = 1.0, chunk: int = 1 << 18,
                   progress: TextIO | None = None) -> list[Downloaded]:
    """Download the four PRISM files into ``out``.

    Parameters
    ----------
    out : path
        Destination folder (created).
    base_url : str, optional
        Where the files live; default ``$PYBRMS_PRISM_URL`` or the Hugging Face dataset.
    fmt : {"jsonl", "parquet"}
        Which version of the files.
    checksums : dict, optional
        Expected SHA-256 per local file name (overrides the server's).
    force : bool
        Download again even when ``SHA256SUMS`` says a file is complete.
    session, retries, timeout, backoff, chunk
        Transport settings (a dropped connection loses at most one ``chunk`` of bytes).
    progress : file, optional
        Where to report each file.

    Returns
    -------
    list of Downloaded
        One per file.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = (base_url or config().get(ENV_BASE_URL) or DEFAULT_BASE_URLS.get(fmt, "")).rstrip(
        "/")
    paths = remote_paths(fmt)
    session = session or requests.Session()
    sums_path = out / "SHA256SUMS"
    sums = read_sums(sums_path)
    done = []
    for local, remote in paths.items():
        dest = out / local
        want = (checksums or {}).get(local)
        if not force and dest.exists() and local in sums and (want in (None, sums[local])):
            if sha256_file(dest) == sums[local]:
                done.append(Downloaded(local, dest, sums[local], verified=True, skipped=True))
                continue
        got = download_file(session, f"{base}/{remote}", dest, expected_sha256=want,
                            retries=retries, timeout=timeout, backoff=backoff, chunk=chunk)
        sums[local] = got.sha256
        _write_sums(sums_path, sums)
        done.append(got)
        if progress is not None:
            print(f"downloaded {local} sha256 {got.sha256}"
                  + ("" if got.verified else " (no checksum to verify against)"),
                  file=progress, flush=True)
    return done


def main_download(out: str, base_url: str | None, fmt: str, checksums_file: str | None,
                  force: bool) -> int:
    """Run ``pybrms prism download``.

    Parameters
    ----------
    out : str
        Destination folder.
    base_url : str or None
        Mirror base URL (default ``$PYBRMS_PRISM_URL`` or Hugging Face).
    fmt : {"jsonl", "parquet"}
        Which files.
    checksums_file : str or None
        ``sha256sum``-style file of expected checksums.
    force : bool
        Download even when complete.

    Returns
    -------
    int
        The exit code (0).
    """
    checksums = read_sums(Path(checksums_file)) if checksums_file else None
    if checksums_file and not checksums:
        raise DataError(f"{checksums_file}: no '<sha256>  <file>' lines found")
    files = download_prism(out, base_url=base_url, fmt=fmt, checksums=checksums, force=force,
                           progress=sys.stderr)
    unverified = [f.name for f in files if not f.verified]
    if unverified:
        print(f"warning: no checksum to verify {unverified}; sums recorded in SHA256SUMS",
              file=sys.stderr)
    return 0
