"""Housekeeping: marking overdue sessions expired and purging abandoned ones, in batches, safely repeatable."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.services import checkout_sessions_expire_due, checkout_sessions_purge_stale
from checkout.tasks import checkout_sessions_mark_expired, checkout_sessions_purge
from tests.factories import CheckoutSessionFactory, PointsPackageFactory

DAY = timedelta(days=1)


def _overdue(count, package, **kwargs):
    long_ago = timezone.now() - 2 * DAY
    return [CheckoutSessionFactory(package=package, created_at=long_ago, **kwargs) for _ in range(count)]


def _statuses():
    return dict(CheckoutSession.objects.values_list("pk", "status"))


def test_only_active_sessions_past_their_expiry_are_marked_expired(package):
    due = _overdue(3, package)
    fresh = CheckoutSessionFactory(package=package)
    paid = _overdue(1, package, status="completed")[0]
    replaced = _overdue(1, package, status="invalidated")[0]

    assert checkout_sessions_mark_expired() == 3
    assert checkout_sessions_mark_expired() == 0  # idempotent

    statuses = _statuses()
    assert {statuses[session.pk] for session in due} == {"expired"}
    assert (statuses[fresh.pk], statuses[paid.pk], statuses[replaced.pk]) == ("active", "completed", "invalidated")
    assert all(session.updated_at > timezone.now() - timedelta(minutes=1)
               for session in CheckoutSession.objects.filter(status="expired"))


def test_expiry_runs_in_batches_and_a_run_killed_midway_is_finished_by_the_next(package, caplog):
    _overdue(25, package)

    assert checkout_sessions_expire_due(batch_size=10, max_batches=1) == 10  # "killed" after one batch
    assert CheckoutSession.objects.filter(status="active").count() == 15
    assert checkout_sessions_expire_due(batch_size=10) == 15
    assert "expired 15 sessions in 2 batches" in caplog.text


def test_purge_deletes_only_abandoned_sessions_older_than_a_week(package):
    now = timezone.now()
    old = now - 8 * DAY
    abandoned = [CheckoutSessionFactory(package=package, status=status, created_at=old - DAY, updated_at=old)
                 for status in ("expired", "invalidated", "active")]
    paid = CheckoutSessionFactory(package=package, status="completed", created_at=old - DAY, updated_at=old)
    recent = CheckoutSessionFactory(package=package, status="expired", created_at=now - 6 * DAY,
                                    updated_at=now - 6 * DAY)

    assert checkout_sessions_purge() == 3
    assert checkout_sessions_purge() == 0

    remaining = set(CheckoutSession.objects.values_list("pk", flat=True))
    assert remaining == {paid.pk, recent.pk}
    assert not remaining & {session.pk for session in abandoned}


def test_purge_unlinks_kept_sessions_from_the_ones_it_deletes(package):
    old = timezone.now() - 8 * DAY
    gone = CheckoutSessionFactory(package=package, status="expired", created_at=old, updated_at=old)
    also_gone = CheckoutSessionFactory(package=package, status="invalidated", created_at=old, updated_at=old,
                                       replaced_by=gone)
    kept = CheckoutSessionFactory(package=package, status="completed", created_at=old, updated_at=old,
                                  replaced_by=gone)

    assert checkout_sessions_purge_stale(batch_size=1) == 2

    kept.refresh_from_db()
    assert kept.replaced_by_id is None
    assert not CheckoutSession.objects.filter(pk__in=[gone.pk, also_gone.pk]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_session_locked_by_a_checkout_is_skipped_not_waited_for():
    package = PointsPackageFactory()
    locked, *others = _overdue(5, package)
    holding, release, result = threading.Event(), threading.Event(), {}

    def shopper_checkout():
        with transaction.atomic():
            CheckoutSession.objects.select_for_update().get(pk=locked.pk)
            holding.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=shopper_checkout)
    thread.start()
    holding.wait(10)
    try:
        result["first"] = checkout_sessions_expire_due()
    finally:
        release.set()
        thread.join(10)

    assert result["first"] == 4
    assert CheckoutSession.objects.get(pk=locked.pk).status == "active"
    assert checkout_sessions_expire_due() == 1


@pytest.mark.django_db(transaction=True)
def test_two_cleanups_at_once_share_the_work_without_errors():
    package = PointsPackageFactory()
    _overdue(60, package)
    old = timezone.now() - 8 * DAY
    for _ in range(40):
        CheckoutSessionFactory(package=package, status="invalidated", created_at=old, updated_at=old)
    barrier, totals, errors = threading.Barrier(2), [], []

    def cleanup():
        try:
            barrier.wait(10)
            totals.append((checkout_sessions_expire_due(batch_size=7), checkout_sessions_purge_stale(batch_size=7)))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cleanup) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    # whatever one run skipped because the other held it, a later run finishes
    expired = sum(t[0] for t in totals) + checkout_sessions_expire_due()
    purged = sum(t[1] for t in totals) + checkout_sessions_purge_stale()
    assert (expired, purged) == (60, 40)
    assert CheckoutSession.objects.filter(status="expired").count() == 60
    assert not CheckoutSession.objects.filter(status="invalidated").exists()


def test_the_management_command_for_cron(package):
    _overdue(2, package)
    old = timezone.now() - 8 * DAY
    CheckoutSessionFactory(package=package, status="expired", created_at=old, updated_at=old)
    out = StringIO()

    call_command("cleanup_checkout_sessions", "--batch-size", "1", stdout=out)

    assert out.getvalue() == ("Marked 2 checkout sessions expired.\nDeleted 1 abandoned checkout sessions.\n"
                              "Released what 0 ended points_package checkouts held.\n"
                              "Released what 0 ended restored_payment checkouts held.\n"
                              "Released what 0 ended cart checkouts held.\n")
    assert CheckoutSession.objects.filter(status="expired").count() == 2
