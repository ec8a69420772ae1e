# make setup  - .venv with bench installed, plus a Chromium and fonts (idempotent)
# make bench  - setup, then `python -m bench ui` against the bundled chat app;
#               extra options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--budgets baseline --trace on-failure"
# make test   - setup, then the whole pytest suite (once, three workers; docs/suite-speed.md)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RESULTS ?= traces/results.json
BENCH_ARGS ?=

.PHONY: setup bench test benchmarks clean

# bench and tests are byte-compiled here: where PYTHONDONTWRITEBYTECODE is set (CI images), every
# `python -m bench` the suite starts would compile bench's sources again (~0.15 s of CPU each, ~100 runs).
setup: $(VENV)/.installed
	@$(PY) scripts/ensure_chromium.py
	@$(PY) -m compileall -q bench tests > /dev/null

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,locust]'
	@touch $@

bench: setup
	$(PY) -m bench ui --json $(RESULTS) $(BENCH_ARGS)

# One run, no retry: every test must pass on its first try. Three pytest-xdist
# workers on two cores (a shared test waits on timers, servers and pages much of its
# time: after the timing tests three keep the machine 1.8 cores busy; measured 436 s
# against 515 s with two, and four gained nothing more), a test module to one worker
# (module fixtures are set up once),
# the slowest modules first (tests/conftest.py SLOW_FIRST);
# tests marked `timing` run with the other workers held off, but for their tests marked
# `background` (no browser, nothing a starved CPU could move), which run beside them in an idle CPU
# cgroup (tests/cpu_share.py, tests/idle_group.py; BENCH_SUITE_BACKGROUND=0 turns that off).
# Layout and cost: docs/suite-speed.md.
# TEST_ARGS: more pytest arguments, e.g. TEST_ARGS="-m 'not harness'" for a shorter run without the
# harnesses' end-to-end tests (CI runs them all).
TEST_WORKERS ?= 3
TEST_ARGS ?=
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(TEST_ARGS)

benchmarks: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
