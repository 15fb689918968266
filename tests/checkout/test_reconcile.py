"""When a webhook never comes: the beat task asks Stripe and fulfils. (The points result page's "check again"
does the same for one session: tests/wallet/test_purchase_check_again.py.)"""

from checkout.models import CheckoutSession
from checkout.tasks import checkout_sessions_reconcile
from stripe_fake import hosted
from stripe_fake.models import FakeStripeObject
from tests.payments import paying_session
from tests.stripe_events import post_event
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start


def test_the_beat_task_credits_a_paid_session_whose_webhook_was_lost(client, shopper, package, held_webhooks,
                                                                   django_capture_on_commit_callbacks):
    session = paying_session(shopper, package)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)  # the webhook is lost: held, never delivered
    session.refresh_from_db()
    assert session.status == "active" and session.awaiting_stripe

    counts = checkout_sessions_reconcile()

    assert counts == {"credited": 1}
    session.refresh_from_db()
    assert (session.status, session.awaiting_stripe) == ("completed", False)
    assert session.reconciled_at is not None
    assert wallet_balance(user=shopper).current == 550
    # the webhook turns up late after all: nothing more happens
    [late] = [event for event in held_webhooks if event["type"] == "checkout.session.completed"]
    assert post_event(client, late).status_code == 200
    assert LedgerEntry.objects.count() == 1
    assert checkout_sessions_reconcile() == {}  # nothing awaits Stripe any more


def test_the_beat_task_leaves_unpaid_sessions_pending_and_expires_them_when_stripe_does(shopper, package):
    session = paying_session(shopper, package)

    assert checkout_sessions_reconcile() == {"pending": 1}
    hosted.expire(FakeStripeObject.objects.get(pk=session.stripe_session_id).data)
    assert checkout_sessions_reconcile() == {"expired": 1}

    session.refresh_from_db()
    assert (session.status, session.awaiting_stripe) == ("expired", False)


def test_a_replaced_session_whose_stripe_expiry_failed_is_expired_by_reconcile(
        shopper, package, other_package, fake_stripe, django_capture_on_commit_callbacks):
    old = paying_session(shopper, package)
    fake_stripe.fail("connection", path=f"/v1/checkout/sessions/{old.stripe_session_id}", times=100)
    with django_capture_on_commit_callbacks(execute=True):
        points_purchase_start(user=shopper, package=other_package)
    old.refresh_from_db()
    assert old.status == "invalidated" and old.awaiting_stripe  # Stripe could not be told

    fake_stripe.reset()
    checkout_sessions_reconcile()

    old.refresh_from_db()
    assert (old.stripe_status, old.awaiting_stripe) == ("expired", False)
    assert FakeStripeObject.objects.get(pk=old.stripe_session_id).data["status"] == "expired"


def test_one_failing_stripe_call_does_not_stop_the_others(shopper, package, fake_stripe):
    from tests.factories import UserFactory

    first, second = paying_session(shopper, package), paying_session(UserFactory(), package)
    hosted.pay(second.stripe_session_id)
    fake_stripe.fail("connection", path=f"/v1/checkout/sessions/{first.stripe_session_id}", times=100)

    counts = checkout_sessions_reconcile()

    assert counts == {"stripe error": 1, "credited": 1}
    assert CheckoutSession.objects.get(pk=second.pk).status == "completed"
