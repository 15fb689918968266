"""The demo payment page disputes a paid payment and wins or loses the dispute, sending the events Stripe sends,
with disputes shaped like Stripe's own example object."""

import time

import pytest

from checkout.models import Dispute
from stripe_fake.disputes import STRIPE_EXAMPLE
from stripe_fake.models import FakeStripeObject
from tests.payments import pay_points_checkout
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start


@pytest.fixture
def stripe_url(shopper, package):
    session = points_purchase_start(user=shopper, package=package).session
    return pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://testserver")


@pytest.fixture
def press(client, stripe_url, django_capture_on_commit_callbacks):
    """A button of the demo page; its events go out after commit, as in production."""
    def press(action):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(stripe_url, {"action": action})
    return press


def _sent(event_type: str) -> list[dict]:
    return [row.data for row in FakeStripeObject.objects.filter(kind="event", data__type=event_type)]


def _same_shape(example, ours, path="dispute") -> list[str]:
    """Where ``ours`` lacks a field of Stripe's example, or has one of another type (a null in the example
    admits anything: Stripe's example leaves nullable fields empty)."""
    if example is None:
        return []
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {type(ours).__name__} instead of an object"]
        return [problem for key, value in example.items()
                for problem in (_same_shape(value, ours[key], f"{path}.{key}") if key in ours else [f"{path}.{key}"])]
    return [] if type(example) is type(ours) else [f"{path}: {type(ours).__name__}, not {type(example).__name__}"]


def test_a_paid_payment_is_disputed_then_the_dispute_won(press, client, stripe_url, shopper, webhooks):
    press("pay")
    assert wallet_balance(user=shopper).current == 550

    opened = press("dispute")

    assert opened.status_code == 302 and opened["Location"].endswith("?done=dispute")
    assert webhooks[-1] == ("charge.dispute.created", 200)
    [created] = _sent("charge.dispute.created")
    dispute = created["data"]["object"]
    intent = FakeStripeObject.objects.get(kind="payment_intent").data
    charge = FakeStripeObject.objects.get(kind="charge").data
    assert (dispute["payment_intent"], dispute["charge"], dispute["amount"], dispute["currency"]) == (
        intent["id"], charge["id"], 3999, "usd")
    assert dispute["status"] == "needs_response" and dispute["id"].startswith("dp_test_")
    assert 6 * 86_400 < dispute["evidence_details"]["due_by"] - time.time() <= 7 * 86_400
    assert set(dispute) == set(STRIPE_EXAMPLE) and _same_shape(STRIPE_EXAMPLE, dispute) == []
    assert charge["disputed"] is True
    assert wallet_balance(user=shopper).current == 0  # the shop held the package's points back
    page = client.get(stripe_url).content.decode()
    assert "Win the dispute" in page and "charge.dispute.created" in page

    won = press("win_dispute")

    assert won.status_code == 302 and webhooks[-1] == ("charge.dispute.closed", 200)
    [closed] = _sent("charge.dispute.closed")
    assert (closed["data"]["object"]["id"], closed["data"]["object"]["status"]) == (dispute["id"], "won")
    assert Dispute.objects.get().outcome == "won"
    assert wallet_balance(user=shopper).current == 550
    assert "Dispute this payment" not in client.get(stripe_url).content.decode()


def test_a_lost_dispute_sends_its_close(press, webhooks):
    press("pay")
    press("dispute")

    press("lose_dispute")

    assert _sent("charge.dispute.closed")[0]["data"]["object"]["status"] == "lost"
    assert Dispute.objects.get().outcome == "lost"


@pytest.mark.parametrize("before, action, problem", [
    pytest.param([], "dispute", "Only a paid payment can be disputed.", id="unpaid"),
    pytest.param(["pay", "dispute"], "dispute", "already disputed", id="twice"),
    pytest.param(["pay"], "win_dispute", "no open dispute", id="nothing to win"),
    pytest.param(["pay", "dispute", "lose_dispute"], "win_dispute", "no open dispute", id="already decided"),
])
def test_what_cannot_happen_to_a_payment_is_refused(press, webhooks, before, action, problem):
    for earlier in before:
        press(earlier)
    sent = list(webhooks)

    response = press(action)

    assert response.status_code == 409 and problem in response.content.decode()
    assert webhooks == sent
