"""pybrms doctor: a missing piece is reported with the exact fix (no R needed)."""

import pybrms.doctor as doctor


def test_missing_r_gives_apt_fix(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    monkeypatch.setattr(doctor.md, "version", lambda pkg: {"rpy2": "3.6.9"}.get(pkg, doctor.PY_PINS.get(pkg)))
    checks = doctor.run_checks()
    by_name = {c.name: c for c in checks}
    assert not by_name["R"].ok and by_name["R"].fix.endswith("r-base r-base-dev")
    assert not by_name["C++ compiler"].ok
    assert not by_name["Python rpy2"].ok and by_name["Python rpy2"].fix == "pip install 'rpy2==3.6.6'"
    assert by_name["Python rpy2-rinterface"].ok and "Python pymer4" not in by_name
    text = doctor.report(checks)
    assert "BAD  R " in text and "fix: apt-get install -y --no-install-recommends r-base r-base-dev" in text
    assert text.strip().endswith("run the fix lines above")
