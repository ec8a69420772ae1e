# make setup  - .venv with bench installed, plus a Chromium and fonts (idempotent)
# make bench  - setup, then `python -m bench ui` against the bundled chat app;
#               extra options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--budgets baseline --trace on-failure"
# make test   - setup, then the whole pytest suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RESULTS ?= traces/results.json
BENCH_ARGS ?=

.PHONY: setup bench test benchmarks clean

setup: $(VENV)/.installed
	@$(PY) scripts/ensure_chromium.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,locust]'
	@touch $@

bench: setup
	$(PY) -m bench ui --json $(RESULTS) $(BENCH_ARGS)

# Timing known answers run on real Chromium; a burst of load from another
# process can push one past its band. Failed tests get one more run (--lf):
# a real bug fails twice, and the first failure stays in the log.
test: setup
	$(PY) -m pytest || $(PY) -m pytest --lf

benchmarks: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
