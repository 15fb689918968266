# `make run` and `make test` work on a fresh clone: they create .venv and install what they need -- `make run` only
# the runtime packages (requirements.txt), `make test` and `make bench` the test tools too (requirements-dev.txt).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_INSTALLED := $(VENV)/.installed-runtime
DEV_INSTALLED := $(VENV)/.installed-dev
# --no-compile: byte-code is written as modules are first imported, not for every file of every package up front
# (botocore alone has thousands): the first `make run` starts sooner.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test services browser install install-dev migrate demo clean bench

$(RUNTIME_INSTALLED): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(DEV_INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@ $(RUNTIME_INSTALLED)

install: $(RUNTIME_INSTALLED)
install-dev: $(DEV_INSTALLED)

# The embedded stack: SQLite in var/, Celery's filesystem broker, demo payments -- unless DATABASE_URL,
# CELERY_BROKER_URL or STRIPE_SECRET_KEY say otherwise. Ctrl-C stops web, worker and beat together.
# SITE_URL follows PORT here, once for all three: the demo Stripe posts its webhooks there (honcho hands the
# worker and beat ports of their own). The shop listens on loopback only (DEBUG pages are not for the network):
# BIND_ADDRESS=0.0.0.0 make run opens it to other machines. (Not HOST: zsh and tcsh set that to the machine name.)
# The worker runs its tasks in threads of one process: Ctrl-C (honcho's SIGTERM to each process group) then
# stops it with a warm shutdown, where prefork pool children killed by the same signal are logged as errors.
# Ctrl-C ends the recipe with status 0: honcho's 130 for "stopped by SIGINT" is the way this target ends.
run: export DEBUG ?= true
run: export BIND_ADDRESS ?= 127.0.0.1
run: export SITE_URL ?= http://127.0.0.1:$(or $(PORT),8000)
# With DEBUG on, WhiteNoise serves static files straight from the source folders (and sees edits without a
# restart), so collectstatic -- which hashes and compresses every file, Django admin's too -- runs only when DEBUG
# is off. Two web workers are plenty for one person and boot sooner than the Procfile's three.
run: export WORKER_POOL ?= threads
run: export WEB_CONCURRENCY ?= 2
run: $(RUNTIME_INSTALLED)
	$(PY) manage.py migrate --noinput
	@case "$${DEBUG,,}" in true|1|yes|on) ;; *) set -x; $(PY) manage.py collectstatic --noinput --verbosity 0;; esac
	$(PY) manage.py seed_demo
	@echo "Shop: http://127.0.0.1:$${PORT:-8000}  (listening on $$BIND_ADDRESS; Ctrl-C stops web, worker and beat)"
	@trap : INT; $(VENV)/bin/honcho start --port $${PORT:-8000} web worker beat; status=$$?; \
	  if [ $$status -eq 130 ]; then echo "Stopped."; exit 0; fi; exit $$status

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
test: $(DEV_INSTALLED) services browser
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$status

# Every bench runs, in databases and a Redis db of its own (named with the run's id: two runs at once do not
# collide); a bench below target or failing is reported, and the target fails at the end if any did.
bench: export BENCH_RUN_ID ?= $(shell date +%s)$(shell echo $$$$)
bench: $(DEV_INSTALLED) services
	@missed=""; for script in bench/*.py; do \
	  case $$script in bench/_*|bench/*_settings.py|bench/*_urls.py) continue;; esac; \
	  echo "== $$script (run $$BENCH_RUN_ID)"; $(PY) $$script || missed="$$missed $$script"; \
	done; \
	if [ -n "$$missed" ]; then echo "make bench: below target or failed:$$missed" >&2; exit 1; fi; \
	echo "make bench: every bench met its target"

clean:
	rm -rf var
