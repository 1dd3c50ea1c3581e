"""Open an HTML page in headless Chromium and report what a reader would find broken.

:func:`check_page` serves the page's folder from a local ``http.server`` on 127.0.0.1 (a
thread), opens the page in Debian's Chromium driven by Playwright, and returns a
:class:`PageReport`:

* **images**: every ``<img>`` (inline ``data:image/png;base64`` ones too), made eager and
  decoded, with its ``naturalWidth``; an image that did not load has width 0, and every image
  needs an ``alt`` text (what a screen reader, or a reader whose image failed, gets);
* **links**: every ``<a href>`` that stays on the local server must point to a file that exists
  inside the served folder (a folder stands for its ``index.html``; a relative link is resolved
  from the page's folder on disk, so one climbing out of the served folder is caught), and its
  ``#fragment`` to an ``id`` (or ``<a name>``) of that file; an in-page ``#anchor`` to an id of
  the open page; links elsewhere (``https://`` another host, ``mailto:``) are listed, not
  followed;
* **console errors** and uncaught page errors;
* **failed requests**: a request that failed or answered 4xx/5xx, and every request that would
  leave 127.0.0.1 (blocked before it is sent: the test machine has no network, and a page that
  needs one is broken offline).

Chromium is started once per test session (``tests/conftest.py``: fixture ``chromium``) with
the flags this machine needs (``CHROMIUM_ARGS``) and a fresh temporary profile (Playwright's
``launch`` makes one per browser); nothing is downloaded (``playwright install`` is never run).
A new HTML output (the simulation-study summary, say) is one small test::

    def test_the_simstudy_summary_opens_whole(chromium, tmp_path):
        out = produce_the_outputs(tmp_path)            # e.g. from fixed records, no fitting
        check_page(out / "summary.html", chromium).assert_ok(min_images=1)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

HOST = "127.0.0.1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# how long a page may take to load, and then to go quiet on the network (milliseconds)
LOAD_TIMEOUT_MS = 30_000
IDLE_TIMEOUT_MS = 10_000

# Run in the page: every image made eager and decoded (a lazy image below the fold would
# otherwise never load), then the images, the links and the ids as the browser sees them.
_INSPECT_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  const ids = new Set();
  for (const el of document.querySelectorAll("[id]")) ids.add(el.id);
  for (const el of document.querySelectorAll("a[name]")) ids.add(el.getAttribute("name"));
  return {
    url: document.location.href,
    images: imgs.map(img => ({src: img.currentSrc || img.src, alt: img.alt,
                              complete: img.complete, naturalWidth: img.naturalWidth})),
    links: Array.from(document.querySelectorAll("a[href]")).map(
      a => ({raw: a.getAttribute("href"), href: a.href})),
    ids: Array.from(ids),
  };
}
"""


def browser_available() -> str | None:
    """``None`` when Playwright and Chromium are installed, else what is missing."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium; scripts/setup.sh does it)"
    return None


def chromium_path() -> str | None:
    """Debian's Chromium: ``/usr/bin/chromium``, else ``chromium`` on the PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``) for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@contextlib.contextmanager
def serve(root: str | Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class PageReport:
    """What :func:`check_page` found on one page; :meth:`problems` lists what is broken."""

    url: str
    images: list[dict[str, Any]] = field(default_factory=list)
    links_checked: list[str] = field(default_factory=list)
    links_external: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken thing, one line each (empty: the page is whole)."""
        return ([f"image did not load: {s}" for s in self.broken_images]
                + [f"image without alt text: {s}" for s in self.images_without_alt]
                + [f"broken link: {s}" for s in self.broken_links]
                + [f"console error: {s}" for s in self.console_errors]
                + [f"failed request: {s}" for s in self.failed_requests]
                + [f"request leaving {HOST} (blocked): {s}" for s in self.blocked_requests])

    def assert_ok(self, *, min_images: int = 0, min_links: int = 0) -> None:
        """Fail with every problem listed; also when fewer images or links than expected were
        found (a check of nothing passes nothing)."""
        problems = self.problems()
        assert not problems, f"{self.url}:\n  " + "\n  ".join(problems)
        assert len(self.images) >= min_images, (self.url, self.images)
        assert len(self.links_checked) >= min_links, (self.url, self.links_checked)


class _Ids(HTMLParser):
    """The ids (and ``<a name>``) of an HTML file, for links into it with a fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is not None and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


@functools.lru_cache(maxsize=256)
def _ids_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def _local_file(root: Path, folder: Path, raw: str) -> Path | str:
    """The file a local link is served from (a folder: its index.html), or why there is none.

    A relative link is resolved from the page's folder on disk, so one that climbs out of the
    served folder (which a browser would silently clamp to the server's root) is caught."""
    path = unquote(urlsplit(raw).path)
    target = ((root / path.lstrip("/")) if path.startswith("/") else (folder / path)).resolve()
    if not target.is_relative_to(root):
        return f"outside the served folder {root}"
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else f"no file {target.relative_to(root).as_posix()}"


def _check_links(found: dict[str, Any], root: Path, folder: Path, base: str,
                 report: PageReport) -> None:
    page_url, _ = urldefrag(found["url"])
    page_ids = set(found["ids"])
    for link in found["links"]:
        raw, href = link["raw"], link["href"]
        if urlsplit(href).scheme not in ("http", "https") or not href.startswith(base):
            report.links_external.append(raw)
            continue
        report.links_checked.append(raw)
        target_url, fragment = urldefrag(href)
        if target_url == page_url and not urlsplit(raw).path:
            if fragment and unquote(fragment) not in page_ids:
                report.broken_links.append(f"{raw} (no element with id {fragment!r} on the page)")
            continue
        target = _local_file(root, folder, raw)
        if isinstance(target, str):
            report.broken_links.append(f"{raw} ({target})")
        elif fragment and target.suffix == ".html" and unquote(fragment) not in _ids_of(target):
            report.broken_links.append(f"{raw} (no element with id {fragment!r} in {target.name})")


def check_page(page: str | Path, browser: Any, *, root: str | Path | None = None) -> PageReport:
    """Open ``page`` in ``browser`` and report its images, links, console errors and requests.

    Parameters
    ----------
    page : str or Path
        An HTML file.
    browser : playwright.sync_api.Browser
        From :func:`launch_chromium` (the session fixture ``chromium``).
    root : str or Path, optional
        The folder to serve (links may reach anywhere inside it); by default the page's folder.

    Returns
    -------
    PageReport
    """
    page_path = Path(page).resolve()
    root_path = Path(root).resolve() if root is not None else page_path.parent
    rel = page_path.relative_to(root_path).as_posix()
    with serve(root_path) as base:
        report = PageReport(url=base + rel)
        context = browser.new_context()
        try:
            _open_and_inspect(context, base, root_path, page_path.parent, report)
        finally:
            context.close()
    return report


def _open_and_inspect(context: Any, base: str, root: Path, folder: Path,
                      report: PageReport) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    blocked: set[str] = set()
    failed_urls: set[str] = set()
    console_errors: list[tuple[str, str]] = []

    def route(r: Any) -> None:
        url = r.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != HOST:
            blocked.add(url)
            report.blocked_requests.append(url)
            r.abort("blockedbyclient")
        else:
            r.continue_()

    def failed(request: Any) -> None:
        if request.url not in blocked:
            failed_urls.add(request.url)
            report.failed_requests.append(f"{request.url} ({request.failure})")

    def response(resp: Any) -> None:
        if resp.status >= 400:
            failed_urls.add(resp.url)
            report.failed_requests.append(f"{resp.url} (HTTP {resp.status})")

    def console(msg: Any) -> None:
        if msg.type == "error":
            console_errors.append((msg.text, (msg.location or {}).get("url", "")))

    context.route("**/*", route)
    context.on("requestfailed", failed)
    context.on("response", response)
    tab = context.new_page()
    tab.on("console", console)
    tab.on("pageerror", lambda exc: console_errors.append((f"uncaught exception: {exc}", "")))
    tab.goto(report.url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
    with contextlib.suppress(PlaywrightTimeout):  # a page that polls never idles: inspect it anyway
        tab.wait_for_load_state("networkidle", timeout=IDLE_TIMEOUT_MS)
    found = tab.evaluate(_INSPECT_JS)
    # Chromium logs every failed resource load as a console error too: reported once, above
    report.console_errors = [f"{text} ({url})" if url else text for text, url in console_errors
                             if not (text.startswith("Failed to load resource")
                                     and url in failed_urls | blocked)]
    report.images = found["images"]
    for img in found["images"]:
        src = img["src"] if len(img["src"]) < 120 else img["src"][:100] + "..."
        if not img["complete"] or img["naturalWidth"] == 0:
            report.broken_images.append(src)
        if not img["alt"].strip():
            report.images_without_alt.append(src)
    _check_links(found, root, folder, base, report)
