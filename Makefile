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

.PHONY: help install install-bench install-fuzz train test lint format bench bench-serve bench-http bench-al bench-scale report fuzz clean
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
FUZZ_STAMP := $(VENV)/.fuzz-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= corpus inputs importers recipe serve bundle

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,http,dask]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install topictag (with the http and dask extras) at the locked versions

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
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,http,dask,bench]'
	@rm -f $(VENV)/.bench-* && touch $@

install-bench: $(BENCH_STAMP) ## Install the benchmark peers too (fastText builds from source, ~2 min)

bench: install-bench ## Accuracy and training time vs fastText on ../shared/data (CORPUS=name, QUICK=1)
	$(BIN)/python -m benchmarks.bench_accuracy $(if $(CORPUS),--corpus $(CORPUS)) $(if $(QUICK),--quick)

bench-serve: install-bench ## Cold start, throughput, memory and pruning vs fastText (QUICK=1)
	$(BIN)/python -m benchmarks.bench_serve $(if $(QUICK),--quick)

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,fuzz]'
	@rm -f $(VENV)/.fuzz-* && touch $@

install-fuzz: $(FUZZ_STAMP) ## Install the fuzzer (atheris)

# Each target runs FUZZ_SECONDS; its corpus grows in .fuzz/<target> (git-ignored), seeded from
# the test fixtures and from tests/fuzz/corpus/<target>; a crash is saved as .fuzz/crash-<target>-*.
fuzz: install-fuzz ## Coverage-guided fuzzing of every reader with atheris, FUZZ_SECONDS per target (600)
	$(BIN)/python -m tests.fuzz.seeds .fuzz/seeds
	@status=0; for target in $(FUZZ_TARGETS); do \
		mkdir -p .fuzz/$$target tests/fuzz/corpus/$$target; \
		echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
		$(BIN)/python -m tests.fuzz.fuzz_$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=.fuzz/crash-$$target- \
			.fuzz/$$target tests/fuzz/corpus/$$target .fuzz/seeds/$$target || status=1; \
	done; exit $$status

bench-http: install ## HTTP service vs a scikit-learn app: 1/8/32 clients, wrk and Python (QUICK=1)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
		|| echo "wrk is not installed and could not be: only the Python client will run"
	$(BIN)/python -m benchmarks.bench_http $(if $(QUICK),--quick)

bench-al: install ## Active learning (uncertainty/margin/random) and drift on ../shared/data, ~10 min (QUICK=1)
	$(BIN)/python -m benchmarks.bench_al --jobs 2 $(if $(QUICK),--quick)

bench-scale: install ## Streaming training at 200k/1M paragraphs, Dask classify on 1 and 2 workers (FULL=1: 5M)
	$(BIN)/python -m benchmarks.bench_scale $(if $(FULL),--full)

report: install ## Write the example evaluation report of the default model to docs/example-report
	$(BIN)/topictag evaluate news-topics --data datasets/news-paragraphs/paragraphs.jsonl --output docs/example-report

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .fuzz src/*.egg-info
