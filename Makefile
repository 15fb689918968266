# `make run` and `make test` work on a fresh clone: they create .venv and install what they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test services browser install migrate demo clean bench

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# The embedded stack: SQLite in var/, Celery's filesystem broker, demo payments -- unless DATABASE_URL,
# CELERY_BROKER_URL or STRIPE_SECRET_KEY say otherwise. Ctrl-C stops web, worker and beat together.
# SITE_URL follows PORT here, once for all three: the demo Stripe posts its webhooks there (honcho hands the
# worker and beat ports of their own).
run: export DEBUG ?= true
run: export SITE_URL ?= http://127.0.0.1:$(or $(PORT),8000)
run: $(INSTALLED)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	@echo "Shop: http://127.0.0.1:$${PORT:-8000}  (Ctrl-C stops web, worker and beat)"
	exec $(VENV)/bin/honcho start --port $${PORT:-8000} web worker beat

# PostgreSQL and Redis on this machine, started if they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; pg_isready -h 127.0.0.1 -p 5432
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; \
	  echo "redis: $$(redis-cli -h 127.0.0.1 -p 6379 ping)"

# Debian's chromium for the Playwright tests (never `playwright install`: it downloads a browser build).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@/usr/bin/chromium --version

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: $(INSTALLED) services browser
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$status

# Every bench runs, in databases and a Redis db of its own (named with the run's id: two runs at once do not
# collide); a bench below target or failing is reported, and the target fails at the end if any did.
bench: export BENCH_RUN_ID ?= $(shell date +%s)$(shell echo $$$$)
bench: $(INSTALLED) services
	@missed=""; for script in bench/*.py; do \
	  case $$script in bench/_*|bench/*_settings.py|bench/*_urls.py) continue;; esac; \
	  echo "== $$script (run $$BENCH_RUN_ID)"; $(PY) $$script || missed="$$missed $$script"; \
	done; \
	if [ -n "$$missed" ]; then echo "make bench: below target or failed:$$missed" >&2; exit 1; fi; \
	echo "make bench: every bench met its target"

clean:
	rm -rf var
