"""The demo mailbox is demo mode's only: with production settings it is not installed, imported, routed or linked
(the header's link comes from its context processor), and mail goes to the configured backend untouched."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys

import django

django.setup()

from django.conf import settings
from django.urls import Resolver404, resolve

try:
    resolve("/demo-mailbox/")
    routed = True
except Resolver404:
    routed = False
print(json.dumps({
    "installed": "demo_mailbox" in settings.INSTALLED_APPS,
    "backend": settings.EMAIL_BACKEND,
    "routed": routed,
    "linked": any("demo_mailbox" in name for name in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]),
    "modules": sorted(name for name in sys.modules if name.startswith("demo_mailbox")),
}))
"""


def test_production_settings_neither_install_route_nor_link_the_mailbox(db, tmp_path):
    database = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STRIPE_", "DJANGO_", "EMAIL_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false", "STRIPE_MODE": "stripe",
        "STRIPE_SECRET_KEY": f"sk_test_{secrets.token_hex(12)}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(12)}",
        "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "VAR_DIR": str(tmp_path / "var"),
    })

    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)

    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen == {"installed": False, "backend": "django.core.mail.backends.console.EmailBackend",
                    "routed": False, "linked": False, "modules": []}
