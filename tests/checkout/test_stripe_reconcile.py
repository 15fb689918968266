"""The books against Stripe's: ``manage.py stripe_reconcile`` and the daily beat task list the fake Stripe's
sessions, charges, refunds and disputes and find each discrepancy planted here -- and none when all is well."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from checkout import gateway
from checkout.models import CheckoutSession, Refund, StripeBooksCheck
from checkout.services.books import BooksCheckFailed, stripe_books_check
from checkout.services.refunds import checkout_session_refund
from checkout.tasks import checkout_sessions_reconcile, stripe_books_reconcile
from stripe_fake import disputes, hosted
from tests.factories import OrderFactory, ShopperFactory, StaffFactory
from tests.payments import paying_session, stripe_session_create
from tests.stripe_events import post_event
from tests.stripe_fake import delivery
from wallet.services import wallet_credit


def window():
    now = timezone.now()
    return {"since": now - timedelta(hours=1), "until": now + timedelta(minutes=1)}


def codes(check) -> list[str]:
    return sorted(difference["code"] for difference in check.differences)


def paid_package(shopper, package, django_capture_on_commit_callbacks):
    """A points package paid on the fake's page, its webhook delivered (``webhooks`` fixture)."""
    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)
    session.refresh_from_db()
    assert session.status == "completed"
    return session


def test_books_that_match_have_no_differences_and_the_command_says_so(
        shopper, package, other_package, webhooks, django_capture_on_commit_callbacks, capsys):
    paid_package(shopper, package, django_capture_on_commit_callbacks)
    refunded = paid_package(ShopperFactory(), other_package, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        checkout_session_refund(session_id=refunded.pk, staff_user=StaffFactory(), reason="asked nicely")
    paying_session(ShopperFactory(), package)  # open, unpaid: nothing to compare yet
    # a session another integration made on the same Stripe account, paid: not the shop's business
    hosted.pay(gateway.stripe_client().v1.checkout.sessions.create({
        "mode": "payment", "success_url": "http://elsewhere.test/",
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100,
                                                      "product_data": {"name": "Not ours"}}}]}).id)

    check = stripe_books_check(**window())

    assert check.differences == [] and check.difference_count == 0 and check.error == ""
    assert check.compared == {"checkout_sessions": 4, "charges": 3, "refunds": 1, "disputes": 0}
    call_command("stripe_reconcile", "--since", (timezone.now() - timedelta(hours=1)).isoformat(),
                 "--until", (timezone.now() + timedelta(minutes=1)).isoformat())
    assert "The shop's books match Stripe's." in capsys.readouterr().out


def test_a_payment_whose_webhook_was_lost_is_paid_there_and_not_credited_here(
        shopper, package, held_webhooks, django_capture_on_commit_callbacks, capsys):
    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)

    check = stripe_books_check(**window())

    assert codes(check) == ["paid_not_credited"]
    [difference] = check.differences
    assert (difference["stripe_id"], difference["checkout_session_id"]) == (session.stripe_session_id,
                                                                            str(session.pk))
    assert difference["amount_cents"] == session.amount_cents
    with pytest.raises(CommandError) as failed:
        call_command("stripe_reconcile", "--since", (timezone.now() - timedelta(hours=1)).isoformat(),
                     "--until", (timezone.now() + timedelta(minutes=1)).isoformat())
    assert failed.value.returncode == 1
    assert f"paid_not_credited: Stripe session {session.stripe_session_id} was paid" in capsys.readouterr().out

    checkout_sessions_reconcile()  # what the five-minute beat task does about it
    assert stripe_books_check(**window()).differences == []


def test_a_paid_session_the_shop_no_longer_has_is_reported(shopper, package, held_webhooks,
                                                           django_capture_on_commit_callbacks):
    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)
    CheckoutSession.objects.filter(pk=session.pk).delete()

    check = stripe_books_check(**window())

    assert codes(check) == ["paid_session_unknown"]
    assert check.differences[0]["checkout_session_id"] == str(session.pk)


def test_credited_here_without_a_paid_session_there(shopper, package):
    unpaid = paying_session(shopper, package)  # open and unpaid at Stripe...
    CheckoutSession.objects.filter(pk=unpaid.pk).update(status="completed", completed_at=timezone.now())
    # ...yet marked completed here and its points credited; and a credit for a Stripe session nobody knows
    key = f"stripe:checkout:{unpaid.stripe_session_id}"
    wallet_credit(user=shopper, points=550, kind="purchase", description="planted", idempotency_key=key,
                  stripe_object_id=unpaid.stripe_session_id)
    wallet_credit(user=shopper, points=100, kind="purchase", idempotency_key="stripe:checkout:cs_test_invented",
                  description="planted", stripe_object_id="cs_test_invented")

    check = stripe_books_check(**window())

    assert codes(check) == ["credited_not_paid", "credited_without_payment"]
    by_code = {difference["code"]: difference for difference in check.differences}
    assert by_code["credited_not_paid"]["stripe_id"] == unpaid.stripe_session_id
    assert by_code["credited_without_payment"]["stripe_id"] == "cs_test_invented"


def test_a_card_order_delivered_without_a_completed_session(shopper):
    session = CheckoutSession.objects.create(user=shopper, kind="cart", title="Order", amount_cents=1200,
                                             currency="usd", expires_at=timezone.now() + timedelta(hours=1))
    stripe_session_create(session)
    order = OrderFactory(user=shopper, total_cents=1200, checkout_session=session, status="completed",
                         fulfilled_at=timezone.now())

    check = stripe_books_check(**window())

    assert codes(check) == ["order_without_payment"]
    assert order.short_id in check.differences[0]["summary"]


def test_a_refund_made_at_stripe_whose_event_was_lost_is_refunded_there_and_not_here(
        shopper, package, settings, webhooks, django_capture_on_commit_callbacks):
    session = paid_package(shopper, package, django_capture_on_commit_callbacks)
    settings.STRIPE_FAKE_WEBHOOK_DELIVERY = "tests.stripe_fake.delivery.hold"  # charge.refunded never arrives
    gateway.refund_create(payment_intent_id=session.stripe_payment_intent_id, idempotency_key="dashboard-refund",
                          amount_cents=200)

    check = stripe_books_check(**window())

    assert codes(check) == ["refunded_not_here"]  # one line for the payment, not one more for its refund
    assert check.differences[0]["amount_cents"] == 200


def test_a_refund_the_shop_records_that_stripe_never_made(shopper, package, webhooks,
                                                          django_capture_on_commit_callbacks):
    session = paid_package(shopper, package, django_capture_on_commit_callbacks)
    Refund.objects.create(session=session, amount_cents=100, currency=session.currency, idempotency_key="planted",
                          status="succeeded", reason="planted", stripe_refund_id="re_test_nowhere", attempts=1)

    check = stripe_books_check(**window())

    assert codes(check) == ["refunded_here_not_there"]
    assert check.differences[0]["stripe_id"] == "re_test_nowhere"


def test_stripe_unreachable_is_recorded_and_exits_two(db, fake_stripe):
    fake_stripe.fail("connection", path="/v1/charges", times=100)

    with pytest.raises(BooksCheckFailed):
        stripe_books_check(**window())
    with pytest.raises(CommandError) as failed:
        call_command("stripe_reconcile", "--since", "2026-01-01")

    assert failed.value.returncode == 3
    assert StripeBooksCheck.objects.filter(error__contains="connect").count() == 2
    assert stripe_books_reconcile() == -1


@pytest.mark.parametrize("arguments", [["--since", "yesterday"], ["--since", "2026-11-02", "--until", "2026-11-01"],
                                       ["--since", "2999-01-01"]])
def test_the_command_refuses_a_window_it_cannot_read(db, arguments):
    with pytest.raises(CommandError) as failed:
        call_command("stripe_reconcile", *arguments)
    assert failed.value.returncode == 2
    assert not StripeBooksCheck.objects.exists()


def test_the_daily_task_is_scheduled_and_its_result_is_on_the_dashboard(
        shopper, package, held_webhooks, staff_client, django_capture_on_commit_callbacks, time_machine):
    task = PeriodicTask.objects.get(task="checkout.tasks.stripe_books_reconcile")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "days", True)
    assert b"Not compared yet" in staff_client.get(reverse("admin:dashboard")).content

    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)  # the webhook is lost
    time_machine.move_to(timezone.now() + timedelta(minutes=20), tick=False)  # past the settling time

    assert stripe_books_reconcile() == 1

    page = staff_client.get(reverse("admin:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<span id="books-differences">1 difference</span>' in html
    assert f"Stripe session {session.stripe_session_id} was paid" in html
    check = StripeBooksCheck.objects.get()
    detail = staff_client.get(reverse("admin:checkout_stripebookscheck_change", args=[check.pk]))
    assert detail.status_code == 200 and b"paid_not_credited" in detail.content


def test_a_dispute_whose_event_was_lost_is_reported_until_it_is_recorded(
        client, shopper, package, settings, webhooks, django_capture_on_commit_callbacks):
    session = paid_package(shopper, package, django_capture_on_commit_callbacks)
    settings.STRIPE_FAKE_WEBHOOK_DELIVERY = "tests.stripe_fake.delivery.hold"
    delivery.HELD.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = disputes.open_dispute(session.stripe_session_id)

    check = stripe_books_check(**window())

    assert codes(check) == ["dispute_not_here"]
    assert check.differences[0]["stripe_id"] == dispute["id"]
    [created] = [event for event in delivery.HELD if event["type"] == "charge.dispute.created"]
    assert post_event(client, created).status_code == 200  # the event arrives after all
    assert stripe_books_check(**window()).differences == []


def test_a_window_that_starts_minutes_ago_runs_until_now(shopper, package, held_webhooks,
                                                         django_capture_on_commit_callbacks, capsys):
    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)

    with pytest.raises(CommandError) as failed:
        call_command("stripe_reconcile", "--since", (timezone.now() - timedelta(minutes=5)).isoformat())

    assert failed.value.returncode == 1
    assert "paid_not_credited" in capsys.readouterr().out
