"""The demo mailbox: in demo mode every mail the shop sends is kept (and still handed to the console or SMTP),
listed newest first at /demo-mailbox/ and shown one by one -- its HTML only inside a sandboxed frame whose page
allows no script, and its links as plain links."""

import re

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from demo_mailbox.models import DemoMail
from demo_mailbox.selectors import PAGE_SIZE
from tests.factories import ProductFactory, give_points

MAILBOX = "demo_mailbox.backend.DemoMailboxBackend"


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = MAILBOX
    settings.DEMO_MAILBOX_NEXT_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def send_multipart(subject="Hello", to="a@example.com", text="Text part https://shop.test/x/", html="<p>HTML</p>"):
    message = EmailMultiAlternatives(subject=subject, body=text, from_email="shop@localhost", to=[to],
                                     bcc=["audit@example.com"])
    message.attach_alternative(html, "text/html")
    message.send()


def test_every_sent_mail_is_kept_and_still_handed_on(db, mailbox):
    send_multipart()
    send_mail("Plain only", "Just text", "shop@localhost", ["b@example.com"])

    first, second = DemoMail.objects.order_by("id")
    assert (first.subject, first.to, first.text, first.html) == (
        "Hello", "a@example.com, audit@example.com", "Text part https://shop.test/x/", "<p>HTML</p>")
    assert (second.subject, second.html, second.from_email) == ("Plain only", "", "shop@localhost")
    assert [message.subject for message in mail.outbox] == ["Hello", "Plain only"]  # the next backend got them


def test_an_html_only_mail_is_kept_as_html(db, mailbox):
    message = EmailMultiAlternatives(subject="Only HTML", body="<b>bold</b>", to=["c@example.com"])
    message.content_subtype = "html"
    message.send()

    kept = DemoMail.objects.get()
    assert (kept.text, kept.html) == ("", "<b>bold</b>")


def test_the_list_shows_mail_newest_first_in_pages(client, db):
    for number in range(PAGE_SIZE + 3):
        DemoMail.objects.create(subject=f"Mail {number:02d}", from_email="shop@localhost", to="a@example.com")

    first = client.get(reverse("demo_mailbox:list")).content.decode()
    second = client.get(reverse("demo_mailbox:list"), {"page": 2}).content.decode()

    subjects = re.findall(r"Mail \d\d", first)
    assert subjects[0] == f"Mail {PAGE_SIZE + 2:02d}" and len(subjects) == PAGE_SIZE
    assert re.findall(r"Mail \d\d", second) == ["Mail 02", "Mail 01", "Mail 00"]
    assert "Older mail" in first and "Older mail" not in second


def test_the_list_reads_a_constant_number_of_queries(client, db, django_assert_max_num_queries):
    for number in range(30):
        DemoMail.objects.create(subject=f"Mail {number}", from_email="shop@localhost", to="a@example.com",
                                text="x" * 1000)

    with django_assert_max_num_queries(3):
        assert client.get(reverse("demo_mailbox:list")).status_code == 200


def test_an_empty_mailbox_says_how_mail_arrives(client, db):
    assert b"No mail yet" in client.get(reverse("demo_mailbox:list")).content


def test_a_mail_shows_its_headers_text_links_and_a_sandboxed_frame(client, db):
    kept = DemoMail.objects.create(
        subject="Reset <your> password", from_email="shop@localhost", to="a@example.com",
        text="Choose one: http://127.0.0.1:8000/accounts/password/reset/MQ/abc-123/\n<script>alert(1)</script>",
        html="<p style='color:red'>Hi</p><script>alert(1)</script>")

    page = client.get(reverse("demo_mailbox:detail", args=[kept.pk]))

    html = page.content.decode()
    assert "Reset &lt;your&gt; password" in html
    assert '<a href="http://127.0.0.1:8000/accounts/password/reset/MQ/abc-123/">' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert ' sandbox="allow-popups allow-popups-to-escape-sandbox" ' in frame  # no scripts, no same origin
    assert f'src="{reverse("demo_mailbox:html", args=[kept.pk])}"' in frame
    # the page itself keeps the shop's strict policy
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_mail_html_is_served_only_to_be_framed_with_a_policy_of_its_own(client, db):
    kept = DemoMail.objects.create(subject="S", from_email="f@x", to="a@example.com",
                                   html="<p style='color:red'>Hi</p><script>alert(1)</script>")

    response = client.get(reverse("demo_mailbox:html", args=[kept.pk]))

    assert response.status_code == 200
    assert response.content == b'<base target="_blank"><p style=\'color:red\'>Hi</p><script>alert(1)</script>'
    policy = response["Content-Security-Policy"]
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to default-src 'none': no script at all
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"  # no scripts, no same origin
    assert directives["form-action"] == "'none'" and directives["img-src"] == "data:"
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_unknown_mail_and_mail_without_html_are_not_found(client, db):
    text_only = DemoMail.objects.create(subject="S", from_email="f@x", to="a@example.com", text="t")

    assert client.get(reverse("demo_mailbox:detail", args=[text_only.pk + 1])).status_code == 404
    assert client.get(reverse("demo_mailbox:html", args=[text_only.pk])).status_code == 404


def test_the_header_links_the_mailbox_in_demo_mode(client, db):
    page = client.get(reverse("shop:catalog"))

    assert f'href="{reverse("demo_mailbox:list")}"'.encode() in page.content


def test_a_receipt_reaches_the_mailbox(shopper, mailbox, client):
    from orders.services.cart import cart_add
    from orders.services.notifications import order_send_confirmation
    from orders.services.placement import order_pay_with_points

    give_points(shopper, 5000)
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_points=1200).pk)
    order = order_pay_with_points(user=shopper, idempotency_key="mailbox-receipt")
    order_send_confirmation(order_id=order.pk)

    kept = DemoMail.objects.get()
    assert order.short_id in kept.subject and "1,200 points" in kept.text and "1,200 points" in kept.html
    listing = client.get(reverse("demo_mailbox:list")).content.decode()
    assert f"Your receipt for order {order.short_id}" in listing


def test_the_mailbox_never_writes_on_get(client, db):
    kept = DemoMail.objects.create(subject="S", from_email="f@x", to="a@example.com", text="t", html="<p>h</p>")

    with CaptureQueriesContext(connection) as queries:
        for name in ("detail", "html"):
            client.get(reverse(f"demo_mailbox:{name}", args=[kept.pk]))
        client.get(reverse("demo_mailbox:list"))
    assert not [query for query in queries if query["sql"].lstrip().lower().startswith(("insert", "update",
                                                                                          "delete"))]
