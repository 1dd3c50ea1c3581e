#!/usr/bin/env bash
# Install R + R packages (apt, Debian/Ubuntu) and a .venv with pybrms and pinned Python packages.
# Idempotent: installs only what is missing. Facts behind the pins: ../shared/ENVIRONMENT.md
# (rpy2 3.6.6/rpy2-rinterface 3.6.5 load against R 4.2). lme4 and lmerTest are called
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
# rpy2-rinterface builds from source against R's headers: R must be installed first (above).
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/pybrms doctor
