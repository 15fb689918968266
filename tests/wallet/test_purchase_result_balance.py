"""The paid result page's balance figure is a fragment of its own: it fetches itself again on balance-changed
(spent in another tab, say) and its answer announces nothing, so it cannot set itself off again."""

from django.urls import reverse

from tests.factories import CheckoutSessionFactory, give_points

HTMX_BALANCE = {"HX-Request": "true", "HX-Target": "checkout-balance"}


def test_the_paid_page_shows_the_balance_as_a_fragment_listening_for_changes(shopper_client, shopper):
    session = CheckoutSessionFactory(user=shopper, status="completed")
    give_points(shopper, 550)

    page = shopper_client.get(reverse("points:result", args=[session.pk])).content.decode()

    assert 'id="checkout-balance"' in page and 'data-balance="550"' in page
    assert 'hx-trigger="balance-changed from:body"' in page


def test_the_balance_fragment_is_the_servers_current_figure_and_triggers_nothing(shopper_client, shopper):
    session = CheckoutSessionFactory(user=shopper, status="completed")
    give_points(shopper, 550)
    give_points(shopper, 25)

    response = shopper_client.get(reverse("points:result", args=[session.pk]), headers=HTMX_BALANCE)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<strong id="checkout-balance"') and html.rstrip().endswith("</strong>")
    assert 'data-balance="575"' in html and "575 points" in html
    assert "HX-Trigger" not in response.headers
    assert "no-store" in response["Cache-Control"]


def test_a_credit_landing_while_the_paid_page_is_asked_for_shows_in_the_header_too(shopper_client, shopper,
                                                                                   monkeypatch):
    """The header reads the balance with the user as the request begins; the webhook's credit can commit before
    the view reads the payment's state (the browser follows Stripe's redirect while the webhook is processed).
    The header's badge then shows the page's newer figure, not the one read before it."""
    from checkout.selectors import PaymentState
    from wallet import purchase_views

    session = CheckoutSessionFactory(user=shopper, status="completed")

    def credited_meanwhile(session):
        give_points(shopper, 550)
        return PaymentState.COMPLETED

    monkeypatch.setattr(purchase_views, "checkout_session_payment_state", credited_meanwhile)

    page = shopper_client.get(reverse("points:result", args=[session.pk])).content.decode()

    badge = page.split('id="balance-badge"', 1)[1].split("</a>", 1)[0]
    assert 'data-balance="550"' in badge and "550 points" in badge
    assert 'data-balance="0"' not in page
