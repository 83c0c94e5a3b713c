# crimeprev: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(HOME)/.local/bin/uv
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# Some environments set PYTHONDONTWRITEBYTECODE; every server and CLI subprocess the
# tests start would then recompile the whole dependency tree (tens of seconds each).
unexport PYTHONDONTWRITEBYTECODE
export UV_COMPILE_BYTECODE := 1

.PHONY: help uv install install-dev run test coverage test-setup browser lint format bench clean

help:
	@echo "make run    install, build the demo workspace and serve http://127.0.0.1:8000"
	@echo "make test   install the dev dependencies and run the whole test suite"
	@echo "make coverage  the test suite with coverage measured (slower)"
	@echo "make lint   ruff check, ruff format --check, mypy"
	@echo "make bench  run the benchmarks in bench/"

# Bootstrap uv with pip when it is missing (a fresh machine has Python, pip and make).
uv:
	@if ! command -v uv >/dev/null 2>&1 && [ ! -x "$(UV)" ]; then \
		echo "uv not found: installing it with pip"; \
		$(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv; \
	fi

UV_RUN = $$(command -v uv 2>/dev/null || echo "$$HOME/.local/bin/uv")

install: uv
	@$(UV_RUN) sync --frozen --no-dev --inexact

install-dev: uv
	@$(UV_RUN) sync --frozen

run: install
	$(BIN)/crimeprev demo build
	$(BIN)/crimeprev serve

# Browser tests need Debian's Chromium; install it when we can (root + apt-get).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the browser tests"; \
			(apt-get install -y -q chromium >/dev/null 2>&1 || \
			 (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || \
			echo "could not install chromium; browser tests will be skipped (CI: fail)"; \
		else \
			echo "Chromium is missing: install Debian's package 'chromium' (sudo apt-get install chromium) to run the browser tests"; \
		fi; \
	fi

test-setup: install-dev browser

# --durations=15: every run (and every CI log) lists its 15 slowest steps, so growth shows.
# Coverage measurement adds 40-70% CPU to the suite, so it has a target of its own.
test: test-setup
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

coverage: test-setup
	$(BIN)/pytest --cov --cov-report=term --durations=15 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install-dev
	@for script in bench/bench_*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; $(BIN)/python "$$script" || exit 1; \
	done

clean:
	rm -rf .crimeprev .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
