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

# By hand the tests run in four processes, a file to each (most of their time is spent
# waiting on servers and processes): about 3 minutes instead of 7 on 2 cores. CI runs them
# in one, so that the hung-program margins it reports are not shared with other tests.
# The short base directory keeps the 389 server's socket path under its 104-byte limit.
ifeq ($(CI),true)
PARALLEL :=
else
PARALLEL := -n 4 --dist loadfile --basetemp=$${TMPDIR:-/tmp}/jesagent-pytest-$$(id -u)
endif

unit: $(STAMP)
	$(VENV)/bin/pytest -q $(PARALLEL)

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

# Mutation testing of jescore/policy: each mutant against the in-process tests that reach
# it, at most 25 examples per property. All 4,000 take hours on 2 cores, so by default a
# random sample of MUTATE_SAMPLE (fixed seed) is tested, in minutes, and the score is given
# with its 95 % interval. MUTATE_SAMPLE=all tests every mutant (mutmut keeps the verdicts
# in mutants/: a later full run re-tests only what changed).
MUTATE_SAMPLE ?= 300

mutate: $(STAMP)
	test "$(MUTATE_SAMPLE)" = all || rm -rf mutants
	$(PY) -m tests.mutation_sample --size $(MUTATE_SAMPLE)
	$(PY) -m tests.mutation_score

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants .coverage
