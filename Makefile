# Darkroom — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# Use uv from PATH, else bootstrap it from PyPI into .tools/ (only Python is needed for that).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
# `make test` on two processes (pytest-xdist); work stealing evens out the few long tests.
PARALLEL ?= -n 2 --dist worksteal

.PHONY: run prod test test-fast lint format bench load install password key clean messages

run: install ## Install, migrate, create the first admin and the Sandbox workspace, start everything
	@$(UV) run python -m config.initenv
	@# Before any banner: a port already taken stops here with its name, not five gunicorn failures.
	@$(UV) run python -m config.portcheck
	@$(UV) run python manage.py migrate --noinput -v 0
	@$(UV) run python manage.py collectstatic --noinput -v 0
	@$(UV) run python manage.py bootstrap
	@$(UV) run python manage.py refresh_quotas
	@# Ctrl-C stops everything; that is how this target ends, not an error.
	@$(UV) run python -m config.processes Procfile

prod: export DEBUG = false
prod: install ## Production on this machine: check the settings, migrate, collect static files, start gunicorn, the worker and beat
	@$(UV) run python -m config.prodcheck
	@$(UV) run python manage.py check --deploy
	@$(UV) run python manage.py migrate --noinput -v 0
	@$(UV) run python manage.py collectstatic --noinput -v 0
	@# Ctrl-C or SIGTERM stops everything; workers finish the task in hand first.
	@$(UV) run python -m config.processes Procfile.prod

test: install ## The whole suite: lint, types, migrations check and pytest (browser tests included)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	ENV_FILE= DEBUG=true $(UV) run mypy
	@# Two processes (pytest-xdist), each a session of its own (tests/environment.py: its own
	@# folder, test database and Redis databases; servers on free ports). The tests that start
	@# Celery workers, beat, servers and locust mostly wait on them, and come second: a failure
	@# in the quick ones shows before the slow ones start.
	$(UV) run pytest -m "not integration and not load" $(PARALLEL)
	$(UV) run pytest -m "integration or load" $(PARALLEL)
	@# Pointed at other services (CI: PostgreSQL, Redis and media in a local S3-protocol bucket),
	@# the recovery tests, the budget burst and the tests that touch media files run once more
	@# on the default stack, SQLite, the filesystem broker and media on the local disk: both
	@# must survive killed processes, hold a budget against 50 submits at once and serve media.
	@# (The broker-down test brings its own Redis whatever the stack, so it runs once; the
	@# database and Redis outage tests need PostgreSQL and their own Redis: the first pass only;
	@# the storage outage tests take away the storage each pass has: the bucket, then a volume.)
	@if [ -n "$$DATABASE_URL$$CELERY_BROKER_URL" ] || [ "$$TEST_MEDIA_STORAGE" = s3 ]; then \
	  echo "Recovery, budget burst and media tests again on the default stack (SQLite + filesystem broker + local media)"; \
	  env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND -u CACHE_URL \
	    -u TEST_MEDIA_STORAGE -u MEDIA_STORAGE \
	    $(UV) run pytest $(PARALLEL) tests/integration/test_recovery.py tests/integration/test_budget_burst.py \
	      tests/gallery/test_ingest.py \
	      tests/gallery/test_images.py tests/gallery/test_thumbnail_urls.py \
	      tests/gallery/test_bulk_zip.py tests/integration/test_outages.py \
	      -k "not broker_is_down and not database_outage and not cut_off_for_longer and not redis_restarts"; \
	fi

test-fast: install ## Everyday loop: pytest without browser tests, real Celery workers and locust (`make test` runs all)
	$(UV) run pytest -m "not browser and not integration and not load"

lint: install ## ruff check, format check and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	ENV_FILE= DEBUG=true $(UV) run mypy

format: install ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: install ## Benchmarks (prints a table)
	$(UV) run python -m tests.bench

load: install ## Load test: 50 locust users against a production server on 127.0.0.1 (prints tables)
	$(UV) run python -m tests.load

password: install ## Set a new password for a user (asks for the email)
	@read -r -p "Email: " email && $(UV) run python manage.py changepassword "$$email"

key: install ## Print a new credential encryption key (for CREDENTIAL_KEYS)
	@$(UV) run python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

install: $(UV)
	@$(UV) sync --frozen --quiet
	@# The German catalogue, .po -> .mo in pure Python (polib): no GNU gettext on a bare machine.
	@$(UV) run python -m config.translations --stale -q

messages: install ## Add new msgids to locale/de/LC_MESSAGES/django.po (pure Python, no xgettext), then compile
	$(UV) run python -m config.i18n_scan
	$(UV) run python -m config.translations

# A venv with pip, else `pip install --user`, else uv's wheel straight from PyPI (Debian without
# python3-venv has none of the first two).
$(CURDIR)/.tools/bin/uv:
	@$(PYTHON) config/getuv.py

clean: ## Remove local state (database, media, broker folders). Keeps .env.
	rm -rf var
