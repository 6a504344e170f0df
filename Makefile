# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run serve test screenshots migrate demo bench install browser clean-data audit-verify

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) -m db.migrate upgrade

# The audit log's hash chain: «ok, N rows» or the first broken link (exit 1).
audit-verify: install
	$(PY) -m db.audit_chain verify

# The demo refuses to load unless APP_MODE=demo: `APP_MODE=production make run` stops here.
demo: migrate
	APP_MODE=$${APP_MODE:-demo} $(PY) -m demo --if-empty

run: demo
	APP_MODE=$${APP_MODE:-demo} $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

# Production (deploy/serve.py): migrations, no demo data, WORKERS app processes behind nginx with TLS.
# It refuses demo mode, a weak COOKIE_KEY, accounts with the demo password, a database without an
# administrator (make one with `python -m deploy.admin`) and missing TLS_CERT/TLS_KEY.
serve: install
	APP_MODE=$${APP_MODE:-production} $(PY) -m deploy.serve

# The slowest 15 tests are printed at the end, so that the suite stays fast. Two worker processes
# (pytest-xdist), each with its own test database, keep both cores busy while the other waits on
# PostgreSQL or the browser; a test file stays on one worker, so its module fixtures are built once.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# The README's pictures, from the browser tests (a plain test run writes them under test-results/).
screenshots: install
	SCREENSHOT_DIR=$(CURDIR)/docs $(PY) -m pytest -q tests/browser

bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

clean-data:
	rm -rf .data
