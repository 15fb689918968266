from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What every app stands on and none of them sells: request ids and logs, rate limits, the resilient cache,
    health, the 503 page, the task outbox and the heartbeat. It imports none of the shop's other apps."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from ops.db import keep_connections_across_tasks
        from ops.fragments import code_digest
        from ops.logs import connect_celery_signals
        from ops.outbox import connect_beat_signal

        connect_celery_signals()
        connect_beat_signal()
        keep_connections_across_tasks()
        # Read the code once at start-up (tens of milliseconds), not in a web worker's first request.
        code_digest()
