VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit demo bench coverage mutate clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy jescore shell tests stubs

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint typecheck unit

demo: $(STAMP)
	$(PY) -m stubs.demo

BENCH_SIZES ?= 100,1000,10000

bench: $(STAMP)
	$(PY) -m tests.bench
	$(PY) -m tests.bench_monitor --sizes $(BENCH_SIZES) --write docs/performance.md

# The branch coverage of jescore/ by the tests (the pure core runs in process; the entry
# points the end-to-end tests start are other processes and not counted).
coverage: $(STAMP)
	$(VENV)/bin/coverage run -m pytest -q -p no:cacheprovider
	$(VENV)/bin/coverage report --skip-covered --sort=cover

# Mutation testing of jescore/policy (tens of minutes on 2 cores: not part of make test).
mutate: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $$(nproc) > /dev/null || true
	$(PY) -m tests.mutation_score

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants .coverage
