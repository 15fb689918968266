from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from checkout.services.books import BooksCheckFailed, stripe_books_check

DIFFERENCES_FOUND = 1
BAD_ARGUMENTS = 2  # as argparse's own refusals
STRIPE_UNREACHABLE = 3


def moment(value: str) -> datetime:
    """An ISO date (midnight, in TIME_ZONE) or date-time; without a zone, TIME_ZONE's."""
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(f"not a date or date-time: {value!r} (use 2026-11-01 or 2026-11-01T09:30)")
        parsed = datetime(day.year, day.month, day.day)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = ("Compare the shop's books with Stripe's for a window: Stripe's checkout sessions, charges, refunds and "
            "disputes against the shop's sessions, refunds, orders and ledger. Prints every difference and exits "
            f"{DIFFERENCES_FOUND} when there is any ({STRIPE_UNREACHABLE} when Stripe cannot be asked, {BAD_ARGUMENTS} for "
            "a bad window). Reads only; "
            "each run is kept for the staff dashboard.")

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="start of the window: 2026-11-01 or 2026-11-01T09:30")
        parser.add_argument("--until", help="end of the window (default: 15 minutes ago, letting events still on "
                                            "their way arrive; now, when --since is more recent than that)")

    def handle(self, *args, since, until, **options):
        try:
            since_at = moment(since)
            until_at = moment(until) if until else None
        except ValueError as error:
            raise CommandError(str(error), returncode=BAD_ARGUMENTS) from error
        if until_at is not None and until_at <= since_at:
            raise CommandError("--until must be after --since.", returncode=BAD_ARGUMENTS)
        if since_at >= timezone.now():
            raise CommandError("--since is in the future: there is nothing to compare yet.", returncode=BAD_ARGUMENTS)
        try:
            check = stripe_books_check(since=since_at, until=until_at)
        except BooksCheckFailed as error:
            raise CommandError(f"Stripe could not be asked: {error}", returncode=STRIPE_UNREACHABLE) from error
        compared = ", ".join(f"{count} {resource.replace('_', ' ')}" for resource, count in check.compared.items())
        self.stdout.write(f"Compared {check.since:%Y-%m-%d %H:%M} - {check.until:%Y-%m-%d %H:%M} UTC: {compared}.")
        for difference in check.differences:
            self.stdout.write(f"  {difference['code']}: {difference['summary']}")
        if check.difference_count:
            raise CommandError(f"{check.difference_count} differences between the shop and Stripe "
                               f"(books check {check.pk}).", returncode=DIFFERENCES_FOUND)
        self.stdout.write(self.style.SUCCESS("The shop's books match Stripe's."))


