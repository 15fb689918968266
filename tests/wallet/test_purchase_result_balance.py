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
