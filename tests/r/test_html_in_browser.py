"""The grid summary of a real run (``summary.html`` of ``pybrms sensitivity``) in headless Chromium.

The cbpp example grid's lme4 side (4 fits, a few seconds): the specification curve loads, every
local link resolves, no console error, no failed request (``tests/support/browser.py``). The
other HTML outputs are checked in ``tests/fast/test_html_in_browser.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pybrms
from pybrms.sensitivity import load_grid
from tests.support.browser import check_page

pytestmark = pytest.mark.r

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grids" / "cbpp.toml"


def test_the_grid_summary_opens_whole(chromium, tmp_path: Path) -> None:
    grid = load_grid(EXAMPLE)
    grid.base["engines"] = ["lme4"]
    result = pybrms.sensitivity(grid, tmp_path, quiet=True, power_scaling=False)
    assert len(result.fitted) == 4
    report = check_page(tmp_path / "summary.html", chromium)
    report.assert_ok(min_images=1)
    (curve,) = report.images
    assert curve["src"].endswith("/specification_curve.png")
    assert curve["alt"] == "specification curve: periodP2, periodP4 in every cell"
    from PIL import Image

    assert curve["naturalWidth"] == Image.open(tmp_path / "specification_curve.png").size[0]
