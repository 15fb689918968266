import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# ReliableTask: a task the broker cannot take is kept in the database and relayed later (ops/outbox.py).
app = Celery("shop", task_cls="ops.outbox:ReliableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
