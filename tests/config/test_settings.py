"""Settings come from the environment; mistakes stop the process with a message that names the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = ["DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
                      "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_MODE", "STRIPE_API_VERSION",
                      "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "VAR_DIR", "MEDIA_ROOT"]


def production_env(**overrides):
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://root@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
        "STRIPE_MODE": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_" + "x" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("overrides, variable", [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ({"DEBUG": "maybe"}, "DEBUG"),
    ({"DATABASE_URL": "mysql://somewhere/db"}, "DATABASE_URL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"CELERY_BROKER_URL": "carrier-pigeon://coop"}, "CELERY_BROKER_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"STRIPE_MODE": "demo"}, "STRIPE_MODE"),
    ({"STRIPE_MODE": "sandbox"}, "STRIPE_MODE"),
    ({"STRIPE_SECRET_KEY": None, "STRIPE_MODE": "stripe"}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_API_VERSION": "latest"}, "STRIPE_API_VERSION"),
    ({"DEBUG": "true", "STRIPE_MODE": "demo", "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24}, "STRIPE_MODE"),
    ({"DOWNLOAD_OFFLOAD": "nginx"}, "DOWNLOAD_OFFLOAD"),
    ({"AWS_STORAGE_BUCKET_NAME": "shop", "AWS_S3_ENDPOINT_URL": "minio:9000"}, "AWS_S3_ENDPOINT_URL"),
    ({"AWS_STORAGE_BUCKET_NAME": "shop", "AWS_S3_OBJECT_ACLS": "perhaps"}, "AWS_S3_OBJECT_ACLS"),
    ({"AWS_STORAGE_BUCKET_NAME": "shop", "AWS_S3_ADDRESSING_STYLE": "subdomain"}, "AWS_S3_ADDRESSING_STYLE"),
])
def test_a_wrong_setting_stops_start_up_with_a_message_naming_it(overrides, variable):
    result = manage("check", env=production_env(**overrides))

    assert result.returncode == 3
    assert result.stderr.startswith(f"Configuration error: {variable} ")
    assert "Traceback" not in result.stderr


def test_debug_mode_runs_with_embedded_defaults_and_demo_payments(tmp_path):
    env = production_env(DEBUG="true", SECRET_KEY=None, ALLOWED_HOSTS=None, DATABASE_URL=None, REDIS_URL=None,
                         CELERY_BROKER_URL=None, STRIPE_MODE=None, STRIPE_SECRET_KEY=None,
                         STRIPE_WEBHOOK_SECRET=None, VAR_DIR=str(tmp_path))
    probe = ("from django.conf import settings as s; "
             "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS']['transaction_mode'], "
             "s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'].rsplit('.', 1)[1], s.STRIPE_MODE)")

    result = manage("shell", "--no-imports", "-c", probe, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "IMMEDIATE", "filesystem://", "LocMemCache", "demo"]


def test_object_storage_from_the_environment_passes_the_deploy_check_and_allows_its_previews():
    env = production_env(AWS_STORAGE_BUCKET_NAME="shop-media", AWS_S3_ENDPOINT_URL="https://files.example.net",
                         AWS_S3_REGION_NAME="auto", AWS_ACCESS_KEY_ID="key", AWS_SECRET_ACCESS_KEY="secret")
    probe = ("from django.conf import settings as s; "
             "print(s.STORAGES['default']['OPTIONS']['default_acl'], s.STORAGES['previews']['OPTIONS']['default_acl'], "
             "s.MEDIA_ON_OBJECT_STORAGE, s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'][-1])")

    check = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    result = manage("shell", "--no-imports", "-c", probe, env=env)

    assert check.returncode == 0, check.stdout + check.stderr
    assert result.stdout.split() == ["private", "public-read", "True", "https://files.example.net"], result.stderr
