# pytorc: `make demo` and `make test` are the whole set-up; both work on a fresh clone.
#
#   make venv       create .venv (Python >= 3.11) and upgrade pip
#   make demo       install pytorc into .venv and run scripts/demo.sh
#   make test       install pytorc[dev] into .venv, then ruff, mypy and the full pytest suite
#                   (listing its 20 slowest tests)
#   make lint       ruff check
#   make typecheck  mypy --strict on src/pytorc
#   make bench      the peer benchmark (torc run beside xargs, Parsl, HyperQueue, Dask) and
#                   benchmarks/claim_throughput.py; reports land in benchmarks/results/
#   make bench-claims  only claim_throughput.py (BENCH_ARGS="--jobs 20000" to change it)
#   make bench-peers   only the peer benchmark (PEER_ARGS="--quick" for a short run)
#   make bench-spec benchmarks/spec_create.py: create 10,000-job sweeps from spec files
#   make bench-overhead  benchmarks/run_overhead.py: torc run vs xargs with sh and with bash
#   make bench-ping  benchmarks/ping_during_write.py: /ping while a 200,000-job workflow initializes
#   make bench-tricks  benchmarks/tricks.py: each speed device against the code without it
#   make bench-crash   benchmarks/crash_trials.py: kill -9 the server, then a runner, mid-run
#   make bench-scale   big workflows: create+initialize, paging, claims by class, snapshots, herd
#   make clean      remove .venv and every cache and build product

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BENCH_ARGS ?=
PEER_ARGS ?=

# Slurm: the tests that need a cluster will install Debian's slurm-wlm packages and start a
# single-host cluster here (see /work/shared/slurm); nothing needs them yet.
# SLURM_PACKAGES := slurm-wlm slurm-client munge

.PHONY: venv demo test lint typecheck bench bench-claims bench-peers bench-spec bench-overhead bench-ping bench-tricks bench-crash bench-scale slurm-up slurm-down clean

venv: $(BIN)/python

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "pytorc needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) --version)" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) \
		|| { echo "'$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv" >&2; \
		     rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# Byte-compile the (editable) sources: with PYTHONDONTWRITEBYTECODE set, as on some shared
# machines, every `torc` command would otherwise recompile them (~0.1 s per command).
COMPILE = $(BIN)/python -m compileall -q src/pytorc >/dev/null

# Stamps: reinstall when the project's metadata changes, not on every run.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	@$(COMPILE)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

# Every step runs even when an earlier one fails, so one run reports everything; any failure
# fails the target.
test: $(VENV)/.installed-dev
	@$(COMPILE)
	@status=0; \
	echo "== ruff"; $(BIN)/ruff check src tests benchmarks || status=1; \
	echo "== mypy"; $(BIN)/mypy src/pytorc || status=1; \
	echo "== slurm"; bash scripts/slurm/start-slurm.sh \
		|| { echo "Slurm did not start: its tests fail in CI, skip elsewhere"; \
		     [ "$$CI" != true ] || status=1; }; \
	echo "== pytest"; PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest --durations=20 || status=1; \
	exit $$status

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src/pytorc

bench: bench-peers bench-overhead bench-claims bench-scale

bench-claims: $(VENV)/.installed
	@$(COMPILE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/claim_throughput.py $(BENCH_ARGS)

bench-peers:
	bash benchmarks/peers.sh $(PEER_ARGS)

bench-overhead: $(VENV)/.installed
	@$(COMPILE)
	cd benchmarks && PATH="$(CURDIR)/$(BIN):$$PATH" ../$(BIN)/python run_overhead.py $(BENCH_ARGS)
	cd benchmarks && PATH="$(CURDIR)/$(BIN):$$PATH" ../$(BIN)/python run_overhead.py --chain --jobs 200

# The local 4-node Slurm cluster the Slurm tests use (root; installs slurm-wlm, munge, MariaDB).
slurm-up:
	bash scripts/slurm/start-slurm.sh

slurm-down:
	bash scripts/slurm/stop-slurm.sh

bench-ping: $(VENV)/.installed
	@$(COMPILE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/ping_during_write.py $(BENCH_ARGS)

bench-tricks: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/tricks.py $(BENCH_ARGS)

# Big workflows: create + initialize, paging, claims among many ready jobs, snapshots, 1,000
# connections at once, deleting and resetting a 1M-job workflow while another is written to.
bench-scale: $(VENV)/.installed
	@$(COMPILE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/create_initialize.py --sizes 10000,100000,1000000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/create_initialize.py --sizes 1000000 --fan-in
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/claim_at_scale.py --sizes 10000,1000000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/paging.py --jobs 200000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/claim_by_class.py --jobs 200000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/snapshot_cost.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/herd.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/big_workflow_ops.py --jobs 1000000 --op delete
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/big_workflow_ops.py --jobs 1000000 --op reset

bench-crash: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/crash_trials.py --kill server $(BENCH_ARGS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/crash_trials.py --kill runner --runners 4 --job-seconds 0.1 $(BENCH_ARGS)

bench-spec: $(VENV)/.installed
	@$(COMPILE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/spec_create.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
