"""Django settings and URLconf for bench/webhooks.py's gunicorn (a package, so that `make bench`, which runs
every bench/*.py, does not run these modules as scripts)."""
