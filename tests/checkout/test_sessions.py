"""Starting, renewing and racing checkout sessions; paying, and Stripe failing meanwhile; the transition table.
(Recovering an ended points checkout, and its pages, are the wallet's: tests/wallet/test_purchase_recovery.py.)"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.models import CheckoutSession
from checkout.services import StartResult
from stripe_fake.models import FakeStripeObject
from tests.factories import CheckoutSessionFactory, PointsPackageFactory, UserFactory
from tests.payments import press_pay, start_url
from wallet.services import points_purchase_start


def test_the_database_allows_one_active_session_per_shopper(shopper, package):
    CheckoutSessionFactory(user=shopper, package=package)
    CheckoutSessionFactory(user=shopper, package=package, status="expired")
    CheckoutSessionFactory(package=package)  # another shopper's

    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(user=shopper, package=package)


def test_the_database_insists_on_completed_at_for_completed_sessions(package):
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(package=package, status="completed", completed_at=None)


def test_start_renews_and_links_the_replaced_session(shopper, package, other_package):
    first = points_purchase_start(user=shopper, package=package)
    second = points_purchase_start(user=shopper, package=other_package)
    again = points_purchase_start(user=shopper, package=other_package)

    assert first.created and second.created and not again.created
    assert second.replaced.pk == first.session.pk and again.session.pk == second.session.pk
    first.session.refresh_from_db()
    assert (first.session.status, first.session.replaced_by_id) == ("invalidated", second.session.pk)


def test_a_price_change_renews_even_for_the_same_package(shopper, package):
    first = points_purchase_start(user=shopper, package=package).session
    package.price_cents = 4999
    package.save()

    second = points_purchase_start(user=shopper, package=package).session

    assert second.pk != first.pk and second.amount_cents == 4999


def _wait_for_blocked_backend(timeout: float = 10) -> None:
    deadline = timezone.now() + timedelta(seconds=timeout)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            # Only this test database's waits: other databases on the same server may have their own.
            cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE NOT l.granted AND a.datname = current_database()")
            if cursor.fetchone()[0]:
                return
    raise AssertionError("the second start never waited on the first one's insert")


@pytest.mark.django_db(transaction=True)
def test_a_start_that_loses_the_insert_race_retries_and_replaces_the_winner(caplog):
    # given: tab A has inserted its active session but not committed yet
    user, package_a, package_b = UserFactory(), PointsPackageFactory(), PointsPackageFactory()
    inserted, release, outcome = threading.Event(), threading.Event(), {}

    def tab_a():
        with transaction.atomic():
            outcome["a"] = CheckoutSessionFactory(user=user, package=package_a).pk
            inserted.set()
            release.wait(10)
        connection.close()

    def tab_b():
        inserted.wait(10)
        try:
            outcome["b"] = points_purchase_start(user=user, package=package_b)
        except Exception as error:  # the test reports it below
            outcome["b"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=tab_a), threading.Thread(target=tab_b)]
    for thread in threads:
        thread.start()
    # when: tab B's insert is blocked on A's uncommitted row, and A commits
    inserted.wait(10)
    _wait_for_blocked_backend()
    release.set()
    for thread in threads:
        thread.join(20)

    # then: B lost the unique index race, retried, and replaced A's session: one active session, no error
    result = outcome["b"]
    assert isinstance(result, StartResult), result
    assert result.created and result.replaced.pk == outcome["a"]
    assert list(CheckoutSession.objects.filter(user=user, status="active").values_list("pk", flat=True)) == [
        result.session.pk]
    assert "lost a race for the active session" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_many_tabs_starting_at_once_end_with_one_active_session_and_no_error_page():
    user, packages = UserFactory(), [PointsPackageFactory(), PointsPackageFactory()]
    barrier, statuses = threading.Barrier(8), []

    def tab(index):
        client = Client()
        client.force_login(user)
        barrier.wait(10)
        statuses.append(client.post(start_url(), {"package": packages[index % 2].pk}).status_code)
        connection.close()

    threads = [threading.Thread(target=tab, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert statuses == [302] * 8
    assert CheckoutSession.objects.filter(user=user, status="active").count() == 1
    ended = CheckoutSession.objects.filter(user=user).exclude(status="active")
    assert all(session.replaced_by_id for session in ended)


# --- paying, and Stripe failing -------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["server_error", "connection"])
def test_stripe_failing_shows_a_message_with_a_retry_and_leaves_nothing_half_made(
        shopper_client, shopper, package, fake_stripe, fault):
    session = points_purchase_start(user=shopper, package=package).session
    fake_stripe.fail(fault, times=10)

    failed = press_pay(shopper_client, session)

    assert failed.status_code == 503
    assert b"Nothing was charged" in failed.content and b"Try again: pay" in failed.content
    session.refresh_from_db()
    assert (session.status, session.stripe_session_id, session.awaiting_stripe) == ("active", None, False)
    assert not FakeStripeObject.objects.filter(kind="checkout.session").exists()

    fake_stripe.reset()  # Stripe is back
    retried = press_pay(shopper_client, session)
    session.refresh_from_db()
    assert retried["Location"] == session.stripe_checkout_url and session.awaiting_stripe


def test_paying_twice_reuses_the_stripe_session(shopper_client, shopper, package, fake_stripe):
    session = points_purchase_start(user=shopper, package=package).session

    first, second = press_pay(shopper_client, session), press_pay(shopper_client, session)

    assert first["Location"] == second["Location"]
    assert FakeStripeObject.objects.filter(kind="checkout.session").count() == 1
    assert len(fake_stripe.requests_seen) == 1


def test_a_stripe_session_refused_for_good_is_replaced_by_a_fresh_checkout(shopper_client, shopper, package):
    session = points_purchase_start(user=shopper, package=package).session
    # someone (a bug, an old deploy) used our idempotency key with other parameters
    clash = CheckoutSession(pk=session.pk, user=shopper, kind="points_package", title="Other", amount_cents=1,
                            currency="usd", expires_at=session.expires_at)
    gateway.checkout_session_create(session=clash, success_url="http://x.test/", cancel_url="http://x.test/",
                                    now=timezone.now())

    refused = press_pay(shopper_client, session)
    assert refused.status_code == 503 and b"refused the request" in refused.content
    onward = shopper_client.get(reverse("points:review", args=[session.pk]))
    assert b"Paying starts a fresh one" in onward.content
    paid = press_pay(shopper_client, session)
    fresh = CheckoutSession.objects.get(status="active")
    assert fresh.pk != session.pk and paid["Location"] == fresh.stripe_checkout_url


def test_a_session_about_to_expire_is_renewed_before_paying(shopper_client, shopper, package):
    session = points_purchase_start(user=shopper, package=package).session

    with time_machine.travel(session.expires_at - timedelta(minutes=10)):
        paid = press_pay(shopper_client, session)

    # then: the old one ended unpaid, and its fresh copy went to Stripe with a full lifetime
    fresh = CheckoutSession.objects.get(status="active")
    assert fresh.pk != session.pk and paid["Location"] == fresh.stripe_checkout_url
    assert CheckoutSession.objects.get(pk=session.pk).status == "invalidated"
    assert FakeStripeObject.objects.filter(kind="checkout.session").count() == 1


def test_paying_for_a_replaced_session_goes_to_the_current_one(shopper_client, shopper, package, other_package):
    old = points_purchase_start(user=shopper, package=package).session
    new = points_purchase_start(user=shopper, package=other_package).session

    paid = press_pay(shopper_client, old)

    assert paid["Location"] == reverse("points:review", args=[new.pk])
    assert not FakeStripeObject.objects.filter(kind="checkout.session").exists()


@pytest.mark.parametrize("source, target", [("completed", "expired"), ("completed", "active"),
                                            ("expired", "invalidated"), ("invalidated", "active")])
def test_status_moves_outside_the_table_are_refused(package, source, target):
    from checkout.services import checkout_session_move
    from ops.state_machine import IllegalTransition

    session = CheckoutSessionFactory(package=package, status=source)

    with pytest.raises(IllegalTransition):
        checkout_session_move(session, target, now=timezone.now())
    session.refresh_from_db()
    assert session.status == source


@pytest.mark.parametrize("source", ["active", "expired", "invalidated"])
def test_any_unfinished_session_can_complete_because_money_that_arrived_counts(package, source):
    from checkout.services import checkout_session_move

    session = CheckoutSessionFactory(package=package, status=source)

    checkout_session_move(session, "completed", now=timezone.now())

    session.refresh_from_db()
    assert session.status == "completed" and session.completed_at is not None
    assert CheckoutSession.TRANSITIONS.sources_of("expired") == ["active"]
