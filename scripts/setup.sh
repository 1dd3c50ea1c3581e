#!/usr/bin/env bash
# Install R + R packages (apt, Debian/Ubuntu) and a .venv with pybrms and the exact Python
# packages of constraints.txt (the tested set inside pyproject.toml's ranges).
# Idempotent: installs only what is missing. rpy2 3.6.6 / rpy2-rinterface 3.6.5 are the newest
# pair that loads against R < 4.5 (Debian bookworm has R 4.2.2). lme4 and lmerTest are called
# directly through pybrms's bridge (no pymer4).
set -euo pipefail
cd "$(dirname "$0")/.."

R_PKGS="r-base r-base-dev r-cran-brms r-cran-rstan r-cran-lme4 r-cran-lmertest r-cran-emmeans \
r-cran-posterior r-cran-loo r-cran-bridgesampling r-cran-broom r-cran-broom.mixed r-cran-tibble \
r-cran-boot r-cran-parameters r-cran-performance r-cran-insight r-cran-bayestestr \
r-cran-effectsize r-cran-datawizard"
R_PKGS="$R_PKGS chromium"  # not R: the headless browser of the HTML tests (tests/support/browser.py)

missing=""
for p in $R_PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: R packages missing ($missing) and no apt-get: use environment.yml (conda) instead" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing with apt:$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The dev extra's pymc (>= 5.26) needs Python >= 3.11. constraints.txt was resolved for CPython
# 3.11: with a newer Python only its rpy2 pair is pinned and pip picks the rest inside
# pyproject's ranges.
CONSTRAINTS=constraints.txt
PYV=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: .venv has Python $PYV; make setup needs Python >= 3.11 (pymc, in the dev extra)." >&2
  echo "setup: remove .venv and run again with PYTHON=python3.11 (or newer)" >&2
  exit 1
fi
if [ "$PYV" != "3.11" ]; then
  echo "setup: Python $PYV: constraints.txt is for 3.11; pinning only rpy2 and rpy2-rinterface" >&2
  CONSTRAINTS=.venv/rpy2-constraints.txt
  grep -E '^rpy2(-rinterface)?==' constraints.txt > "$CONSTRAINTS"
fi
# rpy2-rinterface builds from source against R's headers: R must be installed first (above).
.venv/bin/python -m pip install -q -c "$CONSTRAINTS" -e ".[dev]"
.venv/bin/pybrms doctor
