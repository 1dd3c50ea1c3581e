"""The HTML pybrms writes, opened in headless Chromium: figures load, links resolve, no errors.

Each page is served from a local ``http.server`` on 127.0.0.1 and checked by
``tests/support/browser.py`` (``check_page``): every ``<img>`` loaded (``naturalWidth > 0``,
inline base64 PNGs too) and has an alt text, every local link reaches a file that exists and
every ``#anchor`` an id, no console error, no failed request, no request leaving 127.0.0.1.
First the checker itself on a page broken in every way it looks for; then the replication
report (from fixed records, no R) and the documentation site (``mkdocs build``, built once per
session and shared with ``test_docs_build.py``). The grid summary of a real lme4 run is checked
in ``tests/r/test_html_in_browser.py``, the demo's report of real fits in
``tests/slow/test_replicate.py``; the simulation-study summary here, from a study with
stand-in fits.

Skipped when Chromium or Playwright is not installed, unless the environment variable ``CI`` is
set: then those tests fail (``scripts/setup.sh`` installs both).
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest

from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
from pybrms.papers.kyrychenko2025.replicate.report import write_report
from tests.support.browser import check_page
from tests.support.replicate_records import published_records, run_summary


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def test_the_checker_finds_every_kind_of_breakage(chromium, tmp_path: Path) -> None:
    (tmp_path / "fig.png").write_bytes(_png(30, 20))
    (tmp_path / "other.html").write_text('<!doctype html><title>o</title><h2 id="there">x</h2>')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_text("<!doctype html><title>s</title>")
    inline = base64.b64encode(_png(12, 7)).decode()
    (tmp_path / "page.html").write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>every kind of breakage</title></head><body><h1 id="top">Page</h1>
<img alt="a file" src="fig.png"><img alt="inline" src="data:image/png;base64,{inline}">
<img alt="missing" src="missing.png"><img alt="corrupt" src="data:image/png;base64,iVBORw0K">
<img src="fig.png?no-alt"><img alt="far away" src="http://example.invalid/far.png">
<a href="#top">up</a> <a href="#nowhere">gone</a> <a href="other.html#there">there</a>
<a href="other.html#gone">gone</a> <a href="missing.html">gone</a> <a href="sub/">folder</a>
<a href="../page.html">climbs out</a> <a href="page.html#top">self</a>
<a href="https://example.org/page">outside: not followed</a> <a href="mailto:a@b.c">mail</a>
<script>console.error("boom"); fetch("nothing.json");</script>
<script>throw new Error("uncaught!");</script></body></html>""")
    report = check_page(tmp_path / "page.html", chromium)
    base = report.url.removesuffix("page.html")
    assert [(i["alt"], i["naturalWidth"]) for i in report.images] == [
        ("a file", 30), ("inline", 12), ("missing", 0), ("corrupt", 0), ("", 30), ("far away", 0)]
    assert report.broken_images == [base + "missing.png", "data:image/png;base64,iVBORw0K",
                                    "http://example.invalid/far.png"]
    assert report.images_without_alt == [base + "fig.png?no-alt"]
    assert report.broken_links == ["#nowhere (no element with id 'nowhere' on the page)",
                                   "other.html#gone (no element with id 'gone' in other.html)",
                                   "missing.html (no file missing.html)",
                                   f"../page.html (outside the served folder {tmp_path})"]
    assert report.links_checked == ["#top", "#nowhere", "other.html#there", "other.html#gone",
                                    "missing.html", "sub/", "../page.html", "page.html#top"]
    assert report.links_external == ["https://example.org/page", "mailto:a@b.c"]
    assert report.blocked_requests == ["http://example.invalid/far.png"]
    assert sorted(report.failed_requests) == [base + "missing.png (HTTP 404)",
                                              base + "nothing.json (HTTP 404)"]
    # the failed loads are reported once (above), not again as console errors
    assert [e.split(" (")[0] for e in report.console_errors] == [
        "boom", "uncaught exception: uncaught!"]
    assert len(report.problems()) == 3 + 1 + 4 + 2 + 2 + 1
    with pytest.raises(AssertionError, match="broken link: missing.html"):
        report.assert_ok()
    whole = check_page(tmp_path / "other.html", chromium)
    assert whole.problems() == []
    with pytest.raises(AssertionError):  # a page with no image passes no image check
        whole.assert_ok(min_images=1)


def test_the_replication_report_opens_whole(chromium, tmp_path: Path) -> None:
    from PIL import Image

    plan = build_plan(["1a", "1b"], ["brms", "lme4"], convo_types=["all"])
    records = published_records(plan)
    paths = write_report(plan, records, run_summary(records), tmp_path)
    report = check_page(paths["html"], chromium)
    report.assert_ok(min_images=3)
    # the embedded figures are the PNGs in figures/, at their full size
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    assert [p.name for p in pngs] == ["figure1a.png", "figure1b.png", "figure2h.png"]
    assert [i["alt"] for i in report.images] == ["Figure 1a", "Figure 1b", "Figure 2h"]
    assert [i["naturalWidth"] for i in report.images] == [Image.open(p).size[0] for p in pngs]
    assert all(i["src"].startswith("data:image/png;base64,") for i in report.images)


def test_the_docs_index_opens_whole(chromium, docs_site: Path) -> None:
    report = check_page(docs_site / "index.html", chromium)
    report.assert_ok(min_links=30)
    # the navigation reaches every guide: each is a local link checked to exist
    for page in ("getting-started/", "sensitivity/", "replication/", "reference/api/",
                 "reference/cli/", "benchmarks/"):
        assert page in report.links_checked, page


def test_every_docs_page_with_a_figure_opens_whole(chromium, docs_site: Path) -> None:
    pages = sorted(p for p in docs_site.rglob("*.html") if re.search(r"<img\b", p.read_text()))
    rel = [p.relative_to(docs_site).as_posix() for p in pages]
    assert {"sensitivity/index.html", "examples/cbpp_summary/index.html"} <= set(rel), rel
    for page in pages:
        report = check_page(page, chromium, root=docs_site)
        report.assert_ok(min_images=1)
        assert all(i["naturalWidth"] > 300 for i in report.images), report.images


def test_the_simulation_study_summary_opens_whole(chromium, tmp_path: Path, monkeypatch) -> None:
    """A study's summary.html (stand-in fits, so no R): its figures load, its links resolve."""
    import pybrms
    from pybrms.simstudy import tasks as tasks_mod
    from tests.fast.test_simstudy_study import fake_fit_record, small_study

    monkeypatch.setattr(tasks_mod, "fit_record", fake_fit_record)
    out = tmp_path / "study"
    pybrms.simstudy(small_study(reps=6), out=out, quiet=True, keep_going=True, isolate=False)
    report = check_page(out / "summary.html", chromium)
    report.assert_ok(min_images=3)
    assert {Path(i["src"]).name for i in report.images} >= {"bias_x.png", "coverage_x.png"}
