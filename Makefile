# Huimin: `make up` runs the whole system with demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test unit install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/huimin up

test: $(STAMP)
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

clean:
	rm -rf $(VENV) .huimin

# Benchmarks (measurements, never part of `make test`): BENCH_ARGS="--scale 0.1" for a smaller run.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/huimin bench $(BENCH_ARGS)

# Soak (never part of `make test`): DURATION seconds of mixed load with random faults, then `huimin verify`.
DURATION ?= 60
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python -m tests.soak.run --duration $(DURATION)
