# The two commands a new user needs: `make demo` and `make test`. Both bootstrap their own
# environment: uv is installed with pip when missing, and the whole uv workspace (every package,
# every extra, the dev group) is synced into .venv/ at the repository root.
#
# Another Python: `make test PYTHON=python3.13` (or 3.12) syncs into .venv-python3.13/ and runs
# the same suite there; the name may also be a pyenv version that is installed but not active.
# `make test-versions` runs the sandbox, red-team and adapter suites on 3.12 and 3.13 (CI runs
# it after `make test`, which covers everything on the default Python).

PYTHON ?= python3
PY := $(shell scripts/find-python $(PYTHON))
ifeq ($(PY),)
$(error no Python interpreter '$(PYTHON)': install it, or pass PYTHON=<path or version>)
endif
VENV := $(if $(filter python3,$(PYTHON)),.venv,.venv-$(notdir $(PYTHON)))
UV := $(PY) -m uv
export UV_PYTHON := $(PY)
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
VENV_BIN := $(VENV)/bin
VERSION_SUITES := shared_core/tests/sandbox shared_core/tests/redteam shared_core/tests/test_runtime.py packages
OTHER_PYTHONS := python3.12 python3.13
# Test processes (pytest-xdist): the suite is mostly waiting on subprocesses, servers and
# timers, so two workers halve it on a 2-core machine. `make test PYTEST_WORKERS=0` runs serially.
PYTEST_WORKERS ?= 2

.PHONY: all bootstrap sync test lint format typecheck pytest postgres demo bench soak clean test-versions pytest-sandbox-adapters

all: test

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet "uv>=0.5"

sync: bootstrap
	@$(UV) sync --quiet --all-packages --all-extras --group dev

lint: sync
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .

format: sync
	$(VENV_BIN)/ruff format .
	$(VENV_BIN)/ruff check --fix .

typecheck: sync
	$(VENV_BIN)/mypy shared_core/src packages/*/src

# pgserver bundles PostgreSQL but has no wheel for every Python (none for 3.13): there the
# store tests use the system's PostgreSQL, installed by scripts/ensure-postgres when missing.
postgres: sync
	@$(VENV_BIN)/python -c "import pgserver" 2>/dev/null || scripts/ensure-postgres

pytest: sync postgres
	$(VENV_BIN)/pytest -q -n $(PYTEST_WORKERS) --durations=30

test: lint typecheck pytest

pytest-sandbox-adapters: sync
	$(VENV_BIN)/pytest -q -n $(PYTEST_WORKERS) $(VERSION_SUITES)

test-versions:
	@for python in $(OTHER_PYTHONS); do \
		echo "== sandbox, red-team and adapter suites on $$python =="; \
		$(MAKE) --no-print-directory pytest-sandbox-adapters PYTHON=$$python || exit 1; \
	done

# Fault and load scenarios with figures (minutes; not part of `make test`, which runs a smoke).
soak: sync postgres
	$(VENV_BIN)/python -m soak

demo: sync
	$(VENV_BIN)/python -m demo

bench: bootstrap
	@$(UV) sync --quiet --all-packages --all-extras --group dev --group bench
	$(VENV_BIN)/python benchmarks/run.py

clean:
	rm -rf .venv .venv-* build dist **/__pycache__
