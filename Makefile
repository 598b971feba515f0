# One command each, set-up included: `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint install clean package

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check airflow_provider_xtreme1 tests dags benchmarks scripts
	$(MAKE) package
	bash scripts/ensure-system-deps.sh
	$(BIN)/python -m pytest

# Performance benchmarks (about 22 minutes on 2 cores, 9 of them the 8 GiB sharded ingest, which needs
# ~45 GiB free; `make bench BENCH_ARGS=--quick` for about 5).
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Builds the wheel and sdist into dist/ and checks their metadata renders on the package index.
package: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist . > /dev/null
	$(BIN)/twine check --strict dist/*

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check airflow_provider_xtreme1 tests dags benchmarks scripts

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
