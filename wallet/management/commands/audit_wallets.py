from django.core.management.base import BaseCommand, CommandError

from wallet.audit import wallet_audit


class Command(BaseCommand):
    help = ("Check every wallet against its ledger: cached balance, lifetime and spent equal the sums of the "
            "entries, every balance_after is the running sum, nothing below zero. Exits 1 on any violation.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="Print at most this many problems (default 100).")

    def handle(self, *args, limit, **options):
        report = wallet_audit()
        summary = f"{report.wallets} wallets, {report.entries} ledger entries checked in {report.seconds:.2f}s"
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {summary}; every invariant holds."))
            return
        self.stdout.write(self.style.ERROR(f"FAILED: {summary}; {len(report.problems)} problems:"))
        for problem in report.problems[:limit]:
            self.stdout.write(f"  - {problem}")
        if len(report.problems) > limit:
            self.stdout.write(f"  ... and {len(report.problems) - limit} more (use --limit to see them).")
        raise CommandError(f"{len(report.problems)} ledger invariant violations found.", returncode=1)
