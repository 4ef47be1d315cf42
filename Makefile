# The two commands a new user needs: `make demo` and `make test`. Both bootstrap their own
# environment: uv is installed with pip when missing, and the whole uv workspace (every package,
# every extra, the dev group) is synced into .venv/ at the repository root.

PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
VENV_BIN := .venv/bin

.PHONY: all bootstrap sync test lint format typecheck pytest demo bench clean

all: test

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.5"

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

pytest: sync
	$(VENV_BIN)/pytest -q

test: lint typecheck pytest

demo: sync
	$(VENV_BIN)/python -m demo

bench: bootstrap
	@$(UV) sync --quiet --all-packages --all-extras --group dev --group bench
	$(VENV_BIN)/python benchmarks/run.py

clean:
	rm -rf .venv build dist **/__pycache__
