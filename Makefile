# Run, test and check the pledge tracker.
#
#   make run       the embedded local mode: SQLite, in-process cache and tasks,
#                  demo data, the dev server on http://127.0.0.1:$(PORT)/
#   make test      the test suite (extra pytest arguments: make test ARGS="-k totals")
#   make lint      ruff check + ruff format --check, import contracts, mypy
#
# Only Python 3.11 is needed: the first target that needs it creates .venv and
# installs requirements-dev.txt, and installs again only when a requirements
# file changes. DATABASE_URL and REDIS_URL are used when they are set in the
# environment; without them `make run` uses SQLite and runs tasks in-process.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
# Bind address of `make run` (make run HOST=0.0.0.0); not taken from the environment.
HOST := 127.0.0.1
PORT ?= 8000
# pytest-xdist workers (0: one process). Each worker gets its own test
# database and Redis database (tests/settings.py).
PYTEST_WORKERS ?= 2
ARGS ?=
CELERY_WORKER_CONCURRENCY ?= 2
# Local development defaults, overridden by whatever the environment sets.
LOCAL_ENV := DJANGO_DEBUG="$${DJANGO_DEBUG:-true}" SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}"
COMPOSE ?= $(shell command -v docker-compose >/dev/null 2>&1 && echo docker-compose || echo docker compose)
# The variables the compose file requires: .env when there is one, else the examples.
COMPOSE_ENV_FILE ?= $(if $(wildcard .env),.env,.env.example)

.PHONY: help venv translations run migrate demo-data bench bench-quick bench-inprocess bench-server test lint format worker beat compose-check clean report-samples

help:
	@echo "make run            migrate, load demo data and serve on http://$(HOST):$(PORT)/ (embedded mode by default)"
	@echo "make test           run the tests (ARGS=\"...\" passes pytest arguments, PYTEST_WORKERS=0 runs them in one process)"
	@echo "make bench          issue 15's table: every row with its baseline, ratio and target; writes bench/RESULTS.md (about an hour)"
	@echo "make bench-quick    the same table at small sizes, printed only (about 10 min; BENCH_ARGS=\"...\" passes options)"
	@echo "make bench-inprocess speed and memory of the hot paths in process (PLEDGES=100000; local PostgreSQL and Redis)"
	@echo "make bench-server   only the HTTP load run: gunicorn and wrk, against a bare Django view and nginx"
	@echo "make lint           ruff check, ruff format --check, import contracts (lint-imports) and mypy"
	@echo "make format         ruff format and ruff check --fix"
	@echo "make migrate        apply database migrations"
	@echo "make translations   compile the reports' gettext catalogues (.po to .mo, with Babel)"
	@echo "make worker         a Celery worker (needs REDIS_URL)"
	@echo "make beat           the Celery beat scheduler (needs REDIS_URL)"
	@echo "make compose-check  validate docker-compose.yml (with .env, else .env.example)"
	@echo "make clean          remove the virtualenv and caches"
	@echo "make report-samples PNG pages of the demo event report for the README (docs/reports/; needs pdftoppm)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

# The reports' catalogues, compiled in pure Python (no GNU gettext needed).
translations: venv
	$(LOCAL_ENV) $(BIN)/python manage.py compile_translations

migrate: venv translations
	$(LOCAL_ENV) $(BIN)/python manage.py migrate --noinput

demo-data: migrate
	$(LOCAL_ENV) $(BIN)/python manage.py demo_data

run: demo-data
	@echo
	@echo "Pledge tracker on http://$(HOST):$(PORT)/"
	@echo "  API docs         http://$(HOST):$(PORT)/api/docs/"
	@echo "  OpenAPI schema   http://$(HOST):$(PORT)/api/schema/"
	@echo "  Admin            http://$(HOST):$(PORT)/admin/"
	@echo "  Public totals    http://$(HOST):$(PORT)/api/v1/public/totals/"
	@echo "  Public pledges   http://$(HOST):$(PORT)/api/v1/public/pledges/"
	@echo "  Pledge form      http://$(HOST):$(PORT)/pledge/  (and /ar/ /zh/ /fr/ /ru/ /es/pledge/)"
	@echo "  Totals widget    http://$(HOST):$(PORT)/widget/"
	@echo "  Live board       http://$(HOST):$(PORT)/board/vtf-2012/  (and /ar/ /zh/ /fr/ /ru/ /es/board/vtf-2012/)"
	@echo "  IATI file        http://$(HOST):$(PORT)/api/v1/public/iati/activities.xml"
	@echo "  Database         $${DATABASE_URL:-SQLite, db.sqlite3 (embedded)}"
	@echo "  Cache and tasks  $${REDIS_URL:-in-process (embedded; no REDIS_URL)}"
	@echo
	$(LOCAL_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Every row of issue 15's table, measured in one run (bench/table.py runs server.py,
# reconciliation.py and reports.py); BENCH_ARGS passes options (--db-prefix, sizes).
bench: venv
	$(BIN)/python bench/table.py --markdown bench/RESULTS.md $(BENCH_ARGS)

bench-quick: venv
	$(BIN)/python bench/table.py --quick $(BENCH_ARGS)

# The in-process figures of bench/README.md (django.test.Client, no server).
bench-inprocess: venv
	$(BIN)/python bench/run.py --pledges $${PLEDGES:-100000}

# The service under HTTP load (gunicorn, wrk) next to a bare Django view and nginx.
bench-server: venv
	$(BIN)/python bench/server.py --pledges $${PLEDGES:-100000}

test: venv translations
	$(BIN)/pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup) $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: venv
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL (without it tasks already run in-process)" >&2; exit 2; }
	$(LOCAL_ENV) $(BIN)/celery -A backend worker -l info --concurrency $(CELERY_WORKER_CONCURRENCY)

beat: venv
	@test -n "$$REDIS_URL" || { echo "make beat needs REDIS_URL (a broker the worker also reads)" >&2; exit 2; }
	$(LOCAL_ENV) $(BIN)/celery -A backend beat -l info

compose-check:
	$(COMPOSE) --env-file $(COMPOSE_ENV_FILE) config -q
	@echo "docker-compose.yml is valid (variables from $(COMPOSE_ENV_FILE))"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

# Sample pages of the reports for the README (issue 12): the demo data's
# event report as of the end of 2014, English and Arabic, PDF pages to PNG.
report-samples: demo-data
	$(LOCAL_ENV) $(BIN)/python manage.py report_samples --pages 2,4
