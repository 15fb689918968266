import json
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from orders.downloads import download_token
from orders.models import Order, OrderStatus
from orders.services.notifications import order_send_confirmation
from orders.services.placement import order_pay_with_points
from orders.tasks import send_order_confirmation
from tests.factories import UserFactory, give_points

HTMX = {"HX-Request": "true"}


@pytest.fixture
def paid_order(filled_cart):
    give_points(filled_cart, 2000)
    return order_pay_with_points(user=filled_cart, idempotency_key="test:paid")


def download_url(order, user):
    return reverse("orders:download", args=[download_token(item=order.items.first(), user_id=user.pk)])


def test_the_buyer_downloads_the_full_image_as_a_stream(client, paid_order):
    client.force_login(paid_order.user)

    response = client.get(download_url(paid_order, paid_order.user))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="picture-')
    body = b"".join(response.streaming_content)
    assert body == paid_order.items.first().product.image.open("rb").read()
    assert "no-store" in response["Cache-Control"]


def test_another_shopper_cannot_use_the_link_or_see_the_order(client, paid_order):
    client.force_login(UserFactory())

    assert client.get(download_url(paid_order, paid_order.user)).status_code == 404
    assert client.get(reverse("orders:detail", args=[paid_order.pk])).status_code == 404


def test_a_tampered_link_is_a_clear_404(client, paid_order):
    client.force_login(paid_order.user)
    url = download_url(paid_order, paid_order.user)

    response = client.get(url[:-3] + "xyz/")

    assert response.status_code == 404
    assert b"download link doesn" in response.content


def test_an_expired_link_is_a_clear_403(client, paid_order):
    client.force_login(paid_order.user)
    url = download_url(paid_order, paid_order.user)

    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        response = client.get(url)

    assert response.status_code == 403
    assert b"has expired" in response.content


def test_no_downloads_once_refunded(client, paid_order):
    client.force_login(paid_order.user)
    Order.objects.filter(pk=paid_order.pk).update(status=OrderStatus.REFUNDED)

    assert client.get(download_url(paid_order, paid_order.user)).status_code == 404


def test_order_page_lists_downloads_and_does_not_poll_once_final(client, paid_order):
    client.force_login(paid_order.user)

    page = client.get(reverse("orders:detail", args=[paid_order.pk]))

    assert b"Download Harbour Lights" in page.content and b"Download Desert Bloom" in page.content
    assert b'hx-trigger="every 2s"' not in page.content


def test_a_pending_order_polls_and_the_poll_stops_with_286_when_final(client, shopper):
    order = Order.objects.create(user=shopper, payment_method="stripe", total_cents=499, total_points=450,
                                 idempotency_key="pending-one")
    client.force_login(shopper)

    page = client.get(reverse("orders:detail", args=[order.pk]))
    poll_pending = client.get(reverse("orders:detail", args=[order.pk]), headers=HTMX)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    poll_final = client.get(reverse("orders:detail", args=[order.pk]), headers=HTMX)

    assert b'hx-trigger="every 2s"' in page.content
    assert poll_pending.status_code == 200 and b"Not paid yet" in poll_pending.content
    assert poll_final.status_code == 286
    assert b"every 2s" not in poll_final.content
    # the cart the payment emptied on the server, the balance and the order list all fetch themselves again
    assert set(json.loads(poll_final["HX-Trigger"])) == {"order-changed", "balance-changed", "cart-changed"}


def test_order_list_query_count_is_constant(client, shopper, django_assert_max_num_queries):
    for n in range(15):
        Order.objects.create(user=shopper, payment_method="points", total_cents=1, total_points=1,
                             idempotency_key=f"k{n}", status="completed")
    client.force_login(shopper)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("orders:list"))

    assert response.content.count(b"/orders/") >= 15


def test_order_list_shows_only_the_shoppers_own_orders(client, paid_order):
    client.force_login(UserFactory())

    response = client.get(reverse("orders:list"))

    assert paid_order.short_id.encode() not in response.content
    assert b"No orders yet" in response.content


def test_confirmation_email_is_sent_once_even_when_the_task_runs_twice(paid_order):
    send_order_confirmation(str(paid_order.pk))
    send_order_confirmation(str(paid_order.pk))

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [paid_order.user.email]
    assert paid_order.short_id in message.subject
    assert f"/orders/{paid_order.pk}/" in message.body and "Harbour Lights" in message.body


def test_a_failed_send_releases_the_claim_for_the_retry(paid_order, settings):
    settings.EMAIL_BACKEND = "tests.orders.failing_mail.Backend"

    with pytest.raises(OSError):
        order_send_confirmation(order_id=paid_order.pk)

    paid_order.refresh_from_db()
    assert paid_order.confirmation_sent_at is None


def test_the_order_list_pages_newest_first_without_repeats(client, shopper):
    placed = [Order.objects.create(user=shopper, payment_method="points", total_cents=1, total_points=1,
                                   idempotency_key=f"paged-{n}", status="completed") for n in range(25)]
    client.force_login(shopper)

    first = client.get(reverse("orders:list")).content.decode()
    cursor = re.search(r'href="\?before=([\w-]+)"', first).group(1)
    second = client.get(reverse("orders:list"), {"before": cursor}).content.decode()
    nonsense = client.get(reverse("orders:list"), {"before": "12-not-a-uuid"}).content.decode()

    def shown(page):
        return [order for order in placed if f"/orders/{order.pk}/" in page]

    newest_first = sorted(placed, key=lambda order: (order.created_at, str(order.pk)), reverse=True)
    assert set(shown(first)) == set(newest_first[:20]) and set(shown(second)) == set(newest_first[20:])
    assert 'href="?before=' not in second and "Newest" in second
    assert set(shown(nonsense)) == set(newest_first[:20])  # a malformed cursor starts from the newest


# --- "Your orders": what was bought; the attempts that ended unpaid behind a link ------------------------------

def test_your_orders_hides_abandoned_attempts_behind_a_link(shopper_client, shopper):
    from orders.services.card import order_checkout_start
    from orders.services.cart import cart_add
    from checkout.services import checkout_session_cancel
    from tests.factories import ProductFactory
    from tests.orders.helpers import buy_with_points

    paid = buy_with_points(shopper, ProductFactory())
    cart_add(user=shopper, product_id=ProductFactory().pk)
    abandoned = order_checkout_start(user=shopper, idempotency_key="abandoned")
    checkout_session_cancel(session_id=abandoned.pk, user=shopper)
    pending = order_checkout_start(user=shopper, idempotency_key="pending").order
    abandoned_order = abandoned.order

    listed = shopper_client.get(reverse("orders:list")).content.decode()
    attempts = shopper_client.get(reverse("orders:list"), {"attempts": "1"}).content.decode()

    assert paid.short_id in listed and pending.short_id in listed
    assert abandoned_order.short_id not in listed
    assert 'href="?attempts=1"' in listed and "Show abandoned attempts" in listed
    assert abandoned_order.short_id in attempts and "Cancelled" in attempts
    assert paid.short_id not in attempts and pending.short_id not in attempts
    assert "Abandoned payment attempts" in attempts and 'href="/orders/"' in attempts


def test_the_attempts_list_pages_keep_to_the_attempts(shopper_client, shopper, django_assert_max_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Order
    from tests.factories import OrderFactory

    for n in range(25):
        OrderFactory(user=shopper, status="cancelled", created_at=timezone.now() - timedelta(hours=n))
    Order.objects.filter(user=shopper).update(created_at=timezone.now())  # one instant: the id breaks the ties

    with django_assert_max_num_queries(2):
        first = shopper_client.get(reverse("orders:list"), {"attempts": "1"}).content.decode()
    cursor = re.search(r'href="\?attempts=1&amp;before=([\w-]+)"', first).group(1)
    second = shopper_client.get(reverse("orders:list"), {"attempts": "1", "before": cursor}).content.decode()

    shown = re.findall(r'href="/orders/([0-9a-f-]{36})/"', first) + re.findall(r'href="/orders/([0-9a-f-]{36})/"',
                                                                               second)
    assert len(shown) == len(set(shown)) == 25


def test_order_rows_are_cached_and_a_changed_order_renders_anew(client, paid_order, renders,
                                                                  empty_fragment_caches):
    from orders.services.refunds import order_refund_points
    from tests.factories import StaffFactory

    client.force_login(paid_order.user)
    client.get(reverse("orders:list"))
    client.get(reverse("orders:list"))
    assert renders.count("orders/partials/order_row.html") == 1  # the second page view rendered no row

    order_refund_points(order_id=paid_order.pk, staff_user=StaffFactory(), reason="Goodwill")
    page = client.get(reverse("orders:list")).content.decode()

    assert renders.count("orders/partials/order_row.html") == 2  # its status changed: rendered anew
    assert re.search(r'<span class="status status-refunded">Refunded</span>', page)


def test_a_pending_card_order_says_whether_it_is_paid_yet(client, shopper):
    from checkout.models import CheckoutSession
    from tests.factories import CheckoutSessionFactory

    session = CheckoutSessionFactory(user=shopper, kind="cart", title="Order", stripe_status="open",
                                     awaiting_stripe=True)
    order = Order.objects.create(user=shopper, payment_method="stripe", total_cents=499, total_points=450,
                                 idempotency_key="pending-card", checkout_session=session)
    client.force_login(shopper)

    unpaid = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    CheckoutSession.objects.filter(pk=session.pk).update(stripe_status="complete")  # a bank debit on its way
    paid = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert "to be paid by card" in unpaid and "Not paid yet" in unpaid and "Waiting for the payment" not in unpaid
    assert "Waiting for the payment to be confirmed" in paid and "Not paid yet" not in paid
