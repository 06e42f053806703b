# Two commands: `make run` (the whole service, embedded, no servers) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The lock (requirements/constraints.txt): every install resolves the versions the suite runs with.
CONSTRAINTS := requirements/constraints.txt
# The suite in parallel, one pytest-xdist process per core (each with its own test database).
PYTEST_ARGS ?= -n auto

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev serve check lint bench fuzz clean chromium screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml or the lock changes.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_catalogue
	$(BIN)/python manage.py import_templates templates/
	$(BIN)/python manage.py keep_representations
	$(BIN)/python manage.py seed_demo_data
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# Lint first: a formatting slip fails in a second, not after the suite.
test: install-dev chromium lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A larger schemathesis run than the suite's (tests/config/test_schema_fuzz.py): every operation of /v1/schema,
# FUZZ_MAX_EXAMPLES generated requests each, sent as an admin and as a plain user. Prints its figures; each
# failure's first request goes to FUZZ_REPORT (one JSON line per operation and check).
FUZZ_MAX_EXAMPLES ?= 30
FUZZ_SEED ?= 12
FUZZ_REPORT ?= var/fuzz-report.jsonl
fuzz: install-dev
	rm -f $(FUZZ_REPORT)
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPORT=$(FUZZ_REPORT) \
		$(BIN)/python -m pytest -q -p no:logging tests/config/test_schema_fuzz.py

# The browser tests (tests/browser: the docs offline, in a headless Chromium) need Debian's chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		(apt-get install -y -q chromium >/dev/null 2>&1 && echo "installed chromium for the browser tests") || \
		echo "chromium is missing and could not be installed (apt-get install chromium): tests/browser will fail"

# Screenshots of the admin console of a running service (docs/operations.md), with an admin's login
# (ADMIN_USERNAME, ADMIN_PASSWORD); SCREENSHOTS_ARGS=--demo-job first runs train_and_predict so there are jobs.
SCREENSHOTS_URL ?= http://$(HOST):$(PORT)
SCREENSHOTS_DIR ?= var/screenshots
screenshots: install-dev chromium
	$(BIN)/python -m tools.admin_screenshots --url $(SCREENSHOTS_URL) --out $(SCREENSHOTS_DIR) $(SCREENSHOTS_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Rewrite the lock from the environment: after a deliberate upgrade (`$(BIN)/pip install -U <package>`, and the
# exact pin in pyproject.toml's dev extra for a tool), once the suite passes. Its header, then `pip freeze`
# without the project itself.
.PHONY: constraints
constraints: | $(BIN)/python
	{ sed -n '/^#/!q;p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable | grep -vi '^jobtemplate[-_]service=='; } \
		> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

bench: install-dev
	@echo "See bench/README.md: each script prints its own figures."

clean:
	rm -rf var/ .pytest_cache
