"""Where the fake Stripe sends shoppers and events: the hosted page on the shopper's origin, the events to the
configured endpoint (as a real account's dashboard says), whatever host the session's URLs name."""

from stripe_fake import hosted
from tests.payments import pay_points_checkout
from wallet.services import points_purchase_start


def test_events_go_to_the_configured_endpoint_not_to_the_success_urls_host(
        settings, shopper, package, held_webhooks, django_capture_on_commit_callbacks):
    settings.STRIPE_FAKE_WEBHOOK_URL = "http://hooks.example/stripe/"
    session = points_purchase_start(user=shopper, package=package).session

    stripe_url = pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://shopper.example")
    session.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)

    assert stripe_url == f"http://shopper.example/demo-stripe/{session.stripe_session_id}/"
    assert [(event.url, event["type"]) for event in held_webhooks] == [
        ("http://hooks.example/stripe/", "checkout.session.completed")]
