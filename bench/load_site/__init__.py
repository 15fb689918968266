"""Django settings and URLconf for bench/load.py's gunicorn (a package, so that `make bench`, which runs every
bench/*.py, does not run these modules as scripts). Never used by the shop."""
