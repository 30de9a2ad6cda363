# kratomwatch: `make run` (demo site on http://127.0.0.1:8000) and `make test` (all quality gates).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export KRATOMWATCH_HOME ?= $(CURDIR)

.PHONY: install run test lint typecheck imports axe pytest pytest-postgres bench bench-surveillance clean

$(STAMP): pyproject.toml
	$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo runs with development settings (DEBUG on, no 2FA); production is `kratomwatch serve --production`.
run: export KRATOMWATCH_DEBUG = 1
run: install
	$(BIN)/kratomwatch migrate
	$(BIN)/kratomwatch demo
	$(BIN)/kratomwatch serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# Browser tests run wherever Debian's Chromium is installed; they inject axe-core from the npm registry.
AXE := node_modules/axe-core/axe.min.js
axe:
	@if [ -x /usr/bin/chromium ] && [ ! -f $(AXE) ]; then npm install --no-save --no-audit --no-fund axe-core@4.14.1; fi

# Each run has its own KRATOMWATCH_HOME (files, mail, audit anchors) and server ports, so `make test` runs the two
# databases' suites side by side (make -j2).
pytest: install axe
	mkdir -p var/test-sqlite
	env -u DATABASE_URL KRATOMWATCH_HOME=$(CURDIR)/var/test-sqlite $(BIN)/pytest -p no:cacheprovider \
	  --junitxml=var/junit-sqlite.xml

# Runs the whole suite again on PostgreSQL when KRATOMWATCH_TEST_POSTGRES_URL is set.
pytest-postgres: install axe
	@if [ -n "$$KRATOMWATCH_TEST_POSTGRES_URL" ]; then \
	  mkdir -p var/test-postgres && DATABASE_URL="$$KRATOMWATCH_TEST_POSTGRES_URL" \
	    KRATOMWATCH_HOME=$(CURDIR)/var/test-postgres KW_TEST_SERVER_PORT=8157 KW_RESILIENCE_PORT=8158 \
	    $(BIN)/pytest -p no:cacheprovider --junitxml=var/junit-postgres.xml; \
	else echo "KRATOMWATCH_TEST_POSTGRES_URL not set: PostgreSQL run skipped"; fi

# The SQLite and PostgreSQL suites run at the same time (output kept apart per suite).
test: lint typecheck imports
	$(MAKE) -j2 --output-sync=target pytest pytest-postgres

bench: install
	mkdir -p var
	# write path, alert sweep, and the research export (CSV + Parquet, 10k x 365) of the same registry with its peak memory
	$(BIN)/python -m benchmarks.run --out var/bench.json
	# HTTP load against `kratomwatch serve --production` (writes/s, mixed p50/p99, summary vs /healthz): merged into the same JSON
	$(BIN)/python -m benchmarks.load --out var/bench.json

# FAERS-format data at full FAERS scale (20M reports, generated once under var/bench-faers/), then ingest and scan
# (PRR, ROR, IC, EBGM for every pair) with the time per stage and the peak memory; a 2M-report run shows the growth
bench-surveillance: install
	mkdir -p var
	nice -n 10 $(BIN)/python -m benchmarks.surveillance_full --out var/bench-surveillance-full.json

clean:
	rm -rf $(VENV) var/*.sqlite3* .mypy_cache .ruff_cache
