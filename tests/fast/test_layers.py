"""The architecture as a test: the import contracts, and generic modules free of the paper.

``pyproject.toml`` states the layers (spec -> engine -> result -> compare / grid / study ->
report), that no generic module imports a paper plugin, and that no package has an import
cycle; ``lint-imports`` checks them on every import, function-level ones included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        if os.environ.get("CI"):
            pytest.fail("lint-imports is not installed (the dev extra installs import-linter)")
        pytest.skip("import-linter not installed")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in proc.stdout


def _generic_modules() -> list[str]:
    out = []
    for path in sorted((ROOT / "pybrms").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and parts[1] == "papers":
            continue
        out.append(".".join(parts))
    return out


def test_importing_any_generic_module_loads_no_paper_module():
    modules = _generic_modules()
    assert len(modules) > 60 and "pybrms.runs.engine" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        "    papers = sorted(m for m in sys.modules if m.startswith('pybrms.papers'))\n"
        "    assert not papers, (name, papers)\n"
        "print('ok', len(sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")


def test_the_cli_finds_the_paper_through_its_plugin_entry_point():
    from pybrms.cli import build_parser
    from pybrms.plugins import plugins

    names = [p.name for p in plugins()]
    assert names == ["kyrychenko2025"]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"replicate", "prism", "score", "simulate", "sensitivity", "compare"} <= set(
        sub.choices)
