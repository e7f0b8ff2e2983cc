# Tontine: `make run` serves the shipped sites together on 127.0.0.1 (dreams :5001,
# microloans :5002, …), each following the others; `make run INSTANCE=dreams` serves one
# alone on http://127.0.0.1:5000; `make test` runs every test. They do the whole set-up
# (virtualenv, install, translations, migrations, demo data) and skip what is already done.

# Empty: every instance folder enabling federation, together (tontine network serve).
INSTANCE ?=
PORT ?= 5000
BASE_PORT ?= 5001
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?= -n auto

BIN := $(VENV)/bin
STAMP := $(VENV)/.tontine-installed
# The instance that `make test` and `make run INSTANCE=…` prepare (dreams by default).
INSTANCE_PATH := instances/$(or $(INSTANCE),dreams)
TONTINE := $(BIN)/tontine --instance $(INSTANCE_PATH)
# Translation folders that hold catalogs: the core's, then each plugin's.
TRANSLATION_DIRS = $(sort $(foreach po,$(wildcard core/tontine/translations/*/LC_MESSAGES/*.po \
    plugins/*/translations/*/LC_MESSAGES/*.po),$(firstword $(subst /translations/, ,$(po)))/translations))

.PHONY: run test setup install translations instance bench lint clean help

help:
	@echo "make run                   - the shipped sites together, following each other (:$(BASE_PORT)…)"
	@echo "make run INSTANCE=dreams   - set up and serve one site alone on http://127.0.0.1:$(PORT)"
	@echo "make test                  - set up and run the whole suite (pytest $(PYTEST_ARGS))"
	@echo "make bench                 - benchmarks (PostgreSQL; see docs/performance.md)"
	@echo "make lint                  - ruff check of the whole tree"

# The network prepares each site in its own var/network/ (init, demo data), apart from the
# single site's var/, and allows loopback peers in its own processes only.
ifeq ($(strip $(INSTANCE)),)
run: install translations
	$(TONTINE) network serve --base-port $(BASE_PORT)
else
run: setup
	$(TONTINE) serve --port $(PORT)
endif

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

setup: install translations instance

install: $(STAMP)

# The virtualenv is made once with a Python >= 3.11; the install is redone when
# pyproject.toml changes.
$(STAMP): pyproject.toml
	@if [ ! -x "$(BIN)/python" ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
	    echo "Tontine needs Python 3.11 or newer: make PYTHON=python3.11 ..."; exit 1; }; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Compiles every catalog there is; none yet is not an error.
translations: install
	@for dir in $(TRANSLATION_DIRS); do \
	  $(BIN)/pybabel compile --statistics -d $$dir || exit 1; \
	done

# init is idempotent (creates var/, secrets, migrates); demo data loads once per change.
instance: install translations
	$(TONTINE) init
	$(TONTINE) demo-data

# PostgreSQL from TONTINE_BENCH_DATABASE_URL / TONTINE_TEST_DATABASE_URL (else the local
# server as postgres); each benchmark makes and drops its own databases.
BENCH_DB ?= $(or $(TONTINE_TEST_DATABASE_URL),postgresql+psycopg://postgres@127.0.0.1:5432/test)

bench: setup
	$(BIN)/python bench/browse.py
	$(BIN)/python bench/funding_rush.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/federation.py
	$(BIN)/python bench/repayments.py --database-url '$(BENCH_DB)' --linearity

lint: install
	$(BIN)/ruff check core plugins tests bench deploy

clean:
	rm -rf $(VENV) .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find core plugins -name '*.mo' -delete
