# The two commands for a fresh Debian/Ubuntu machine: `make test` and `make demo`.
# Both run `make setup` first (idempotent: apt packages, then .venv with constraints.txt's versions).
VENV   := .venv
STAMP  := $(VENV)/.pybrms-setup
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo docs lint bench bench-recovery bench-coverage bench-coverage-fast bench-fast clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/pytest -m "not r and not slow" $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/pybrms replicate --demo --out replication-demo

# the documentation site (MkDocs) into site/; --strict: any warning (a broken link, a missing
# benchmark record, a docstring griffe cannot read) fails the build. Needs no R.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

lint: setup
	$(VENV)/bin/ruff check pybrms tests benchmarks

bench: setup
	$(VENV)/bin/python benchmarks/bridge_overhead.py

# about 90 min of brms on 2 cores at full settings (ARGS=--quick: shorter, not converged)
bench-recovery: setup
	$(VENV)/bin/python benchmarks/recovery_full_scale.py --out recovery-benchmark $(ARGS)

# 30 simulated datasets at full scale, Analysis 1b with lme4: about 10 minutes on 2 cores
bench-coverage: setup
	$(VENV)/bin/python benchmarks/recovery_coverage.py --out recovery-coverage --seeds 1-30 $(ARGS)

# the Bayesian arm: the same 30 datasets with the fast engine (brms's model and priors), 2 x (500 + 500)
bench-coverage-fast: setup
	$(VENV)/bin/python benchmarks/recovery_coverage.py --out recovery-coverage --seeds 1-30 --engine fast $(ARGS)

# fast engine vs brms on simulated PRISM, Analyses 1a and 1b, 2 chains x (500 + 500): about
# 15 min at the default --scale 0.2; ARGS="--scale 1" is the paper's size (brms: 30-45 min/model)
bench-fast: setup
	$(VENV)/bin/python benchmarks/fast_engine.py --out fast-benchmark $(ARGS)

# a cbpp grid (8 brms cells + lme4 twins) on 1 and on 2 Dask workers: speed-up, compiles per cell
bench-sensitivity: setup
	$(VENV)/bin/python benchmarks/sensitivity_dask.py --out sensitivity-benchmark $(ARGS)

clean-venv:
	rm -rf $(VENV)
