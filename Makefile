# topictag: `make train` and `make test` work from a fresh clone with only Python 3.11 and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
CORPUS ?=
QUICK ?=
FULL ?=

.PHONY: help install install-bench train test lint format bench bench-serve bench-scale report clean
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,dask]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install topictag (with the dask extra) at the locked versions

train: install ## Retrain models/news-topics on the bundled corpus and print its evaluation
	$(BIN)/topictag train --force --cv 5

lint: install ## Check formatting, lint rules, types and import contracts (ruff, mypy, import-linter)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install ## Format the code in place
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

test: lint ## Lint, then run the whole test suite
	$(BIN)/python -m pytest

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,dask,bench]'
	@rm -f $(VENV)/.bench-* && touch $@

install-bench: $(BENCH_STAMP) ## Install the benchmark peers too (fastText builds from source, ~2 min)

bench: install-bench ## Accuracy and training time vs fastText on ../shared/data (CORPUS=name, QUICK=1)
	$(BIN)/python -m benchmarks.bench_accuracy $(if $(CORPUS),--corpus $(CORPUS)) $(if $(QUICK),--quick)

bench-serve: install-bench ## Cold start, throughput, memory and pruning vs fastText (QUICK=1)
	$(BIN)/python -m benchmarks.bench_serve $(if $(QUICK),--quick)

bench-scale: install ## Streaming training at 200k/1M paragraphs, Dask classify on 1 and 2 workers (FULL=1: 5M)
	$(BIN)/python -m benchmarks.bench_scale $(if $(FULL),--full)

report: install ## Write the example evaluation report of the default model to docs/example-report
	$(BIN)/topictag evaluate news-topics --data datasets/news-paragraphs/paragraphs.jsonl --output docs/example-report

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
