"""The fake Stripe is not part of the product: with production settings it is not installed, not imported, not
routed, and a fresh database never keeps its table; and no product code names it."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ["checkout", "orders", "wallet", "shop", "templates", "static"]
# The two places that install and route the fake, each only in demo mode.
ALLOWED = {"config/settings.py", "config/urls.py"}

PROBE = """
import json, sys

import django

django.setup()

from importlib import import_module

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import Resolver404, get_resolver, resolve

import_module(settings.ROOT_URLCONF)
from checkout import gateway

client = gateway.stripe_client()
try:
    resolve("/demo-stripe/cs_test_x/")
    hosted_page = "resolves"
except Resolver404:
    hosted_page = "404"
executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
print(json.dumps({
    "installed": [app for app in settings.INSTALLED_APPS if "stripe_fake" in app],
    "modules": sorted(name for name in sys.modules if name.startswith("stripe_fake") or "fake_stripe" in name),
    "http_client": type(client._requestor._client).__name__,
    "hosted_page": hosted_page,
    "namespaces": sorted(get_resolver().namespace_dict),
    "plan": [f"{migration.app_label}.{migration.name}" for migration, _ in plan],
    "models_after_plan": sorted(f"{app}.{model}" for app, model in executor.loader.project_state().models),
}))
"""


def production_env(tmp_path) -> dict:
    database = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STRIPE_", "DJANGO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false", "STRIPE_MODE": "stripe",
        "STRIPE_SECRET_KEY": f"sk_test_{secrets.token_hex(12)}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(12)}",
        "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": os.environ["REDIS_URL"], "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "VAR_DIR": str(tmp_path / "var"),
    })
    return env


def test_production_settings_neither_install_import_route_nor_migrate_the_fake(db, tmp_path):
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=production_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])

    assert seen["installed"] == [] and seen["modules"] == []
    assert seen["http_client"] == "RequestsClient"
    assert seen["hosted_page"] == "404" and "stripe_fake" not in seen["namespaces"]
    assert [step for step in seen["plan"] if step.endswith("_fakestripeobject_moves_out")]  # the old table goes...
    assert [step for step in seen["plan"] if step.startswith("stripe_fake.")] == []  # ...and no new one made
    assert [model for model in seen["models_after_plan"] if model.endswith(".fakestripeobject")] == []
    assert "checkout.checkoutsession" in seen["models_after_plan"]  # the state is the shop's, not empty


def test_no_product_code_names_the_fake():
    offenders = []
    for folder in PRODUCT:
        for path in (REPO / folder).rglob("*"):
            relative = path.relative_to(REPO)
            if not path.is_file() or {"__pycache__", "migrations"} & set(relative.parts) or \
                    str(relative) in ALLOWED:
                continue
            text = path.read_bytes()
            if b"stripe_fake" in text or b"fake_stripe" in text:
                offenders.append(str(relative))

    assert offenders == []
