from django.core.management.base import BaseCommand

from checkout.services.cleanup import (
    BATCH_SIZE,
    checkout_sessions_expire_due,
    checkout_sessions_purge_stale,
    checkout_sessions_sweep_kinds,
)


class Command(BaseCommand):
    help = ("Mark overdue checkout sessions expired and delete abandoned ones (the beat tasks, for cron). "
            "Safe to run at any time, twice at once, or to interrupt.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"rows per transaction ({BATCH_SIZE})")
        parser.add_argument("--skip-purge", action="store_true", help="only mark expired sessions")

    def handle(self, *args, batch_size, skip_purge, **options):
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1")
            raise SystemExit(2)
        expired = checkout_sessions_expire_due(batch_size=batch_size)
        self.stdout.write(f"Marked {expired} checkout sessions expired.")
        if not skip_purge:
            purged = checkout_sessions_purge_stale(batch_size=batch_size)
            self.stdout.write(f"Deleted {purged} abandoned checkout sessions.")
        for kind, released in checkout_sessions_sweep_kinds().items():
            self.stdout.write(f"Released what {released} ended {kind} checkouts held.")
