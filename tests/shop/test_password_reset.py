"""Password reset by e-mail: Django's views and tokens in the shop's pages, the mail queued (never sent from the
request) with its link on SITE_URL, one answer whether or not the address has an account, rate limits."""

import uuid

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ops.mail import duration_words
from shop.services import password_reset_request
from tests.factories import UserFactory
from tests.shop.helpers import html_part, links_in


def ask_for_reset(client, email, mail_tasks=None):
    if mail_tasks is None:
        return client.post(reverse("password_reset"), {"email": email})
    return mail_tasks.committed(client.post, reverse("password_reset"), {"email": email})


def test_the_log_in_page_offers_the_reset(client, db):
    page = client.get(reverse("login"))

    assert f'href="{reverse("password_reset")}"'.encode() in page.content
    assert b"Forgot your password?" in page.content


def test_a_reset_mail_carries_a_link_on_the_site_url_not_the_request_host(client, shopper, mail_tasks, settings):
    settings.SITE_URL = "https://shop.example.com"

    response = ask_for_reset(client, shopper.email.upper(), mail_tasks)  # typed in capitals: still the account

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert [name for name, _ in mail_tasks] == ["send_password_reset"]
    [message] = mail.outbox
    assert message.to == [shopper.email]
    [link] = links_in(message, "/accounts/password/reset/")
    assert link.startswith("https://shop.example.com/accounts/password/reset/")
    assert "testserver" not in message.body and "testserver" not in html_part(message)
    assert f'href="{link}"' in html_part(message)
    assert "3 days" in message.body  # Django's PASSWORD_RESET_TIMEOUT, said in words


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(client, shopper, mail_tasks):
    known = ask_for_reset(client, shopper.email, mail_tasks)
    unknown = ask_for_reset(client, "nobody-here@example.com", mail_tasks)

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [args for _, args in mail_tasks] == [(shopper.email,), ("nobody-here@example.com",)]  # both queued
    assert len(mail.outbox) == 1  # only the real account got mail
    done_page = client.get(known["Location"])
    assert b"If an account uses that address" in done_page.content


def test_an_invalid_address_is_explained_and_nothing_is_queued(client, db, mail_tasks):
    response = ask_for_reset(client, "not-an-address", mail_tasks)

    assert response.status_code == 200
    assert b"valid email" in response.content
    assert mail_tasks == []


def test_no_mail_for_an_inactive_account(client, mail_tasks, db):
    user = UserFactory(is_active=False)

    ask_for_reset(client, user.email, mail_tasks)

    assert mail.outbox == []


def test_the_request_only_queues_the_mail_after_commit_and_looks_nothing_up(
        db, monkeypatch, django_capture_on_commit_callbacks, django_assert_num_queries):
    from shop import tasks

    queued = []
    monkeypatch.setattr(tasks.send_password_reset, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_num_queries(0):
        password_reset_request(email=" Someone@Example.com ")
    assert queued == [] and len(callbacks) == 1

    callbacks[0]()
    assert queued == ["someone@example.com"]  # known or not, the worker finds out


def test_the_worker_mails_only_active_accounts_with_the_address(db):
    from shop.notifications import password_reset_send

    active, inactive = UserFactory(email="twice@example.com"), UserFactory(email="off@example.com", is_active=False)

    assert password_reset_send(email="TWICE@example.com") == 1
    assert password_reset_send(email=inactive.email) == 0
    assert password_reset_send(email="nobody@example.com") == 0
    assert [message.to for message in mail.outbox] == [[active.email]]


def test_the_link_sets_a_new_password_and_the_shopper_logs_in_with_it(client, shopper, mail_tasks):
    ask_for_reset(client, shopper.email, mail_tasks)
    [link] = links_in(mail.outbox[0], "/accounts/password/reset/")
    path = link.removeprefix("http://127.0.0.1:8000")

    form_page = client.get(path, follow=True)
    assert b"Choose a new password" in form_page.content
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": "a-fresh-Passw0rd-77",
                                          "new_password2": "a-fresh-Passw0rd-77"})

    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert b"Log in" in client.get(done["Location"]).content
    logged_in = client.post(reverse("login"), {"username": shopper.email, "password": "a-fresh-Passw0rd-77"})
    assert logged_in.status_code == 302
    assert client.get(reverse("wallet:home")).status_code == 200
    # the link worked once
    client.logout()
    again = client.get(path, follow=True)
    assert "This reset link doesn't work".encode() in again.content


def test_a_reset_logs_out_the_sessions_that_knew_the_old_password(client, shopper, mail_tasks):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(shopper)
    assert elsewhere.get(reverse("wallet:home")).status_code == 200

    ask_for_reset(client, shopper.email, mail_tasks)
    path = links_in(mail.outbox[0], "/accounts/password/reset/")[0].removeprefix("http://127.0.0.1:8000")
    set_password_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": "a-fresh-Passw0rd-77", "new_password2": "a-fresh-Passw0rd-77"})

    assert elsewhere.get(reverse("wallet:home")).status_code == 302  # back to log in


def test_an_expired_link_is_refused_with_a_way_to_ask_again(client, shopper, mail_tasks, settings):
    ask_for_reset(client, shopper.email, mail_tasks)
    path = links_in(mail.outbox[0], "/accounts/password/reset/")[0].removeprefix("http://127.0.0.1:8000")

    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        page = client.get(path, follow=True)

    assert "This reset link doesn't work".encode() in page.content
    assert f'href="{reverse("password_reset")}"'.encode() in page.content


def test_a_forged_link_is_refused(client, shopper):
    page = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "abc-123"}), follow=True)

    assert page.status_code == 200
    assert "This reset link doesn't work".encode() in page.content
    assert b"new_password1" not in page.content


@pytest.mark.parametrize("seconds, words", [(259200, "3 days"), (86400, "1 day"), (3600, "1 hour"),
                                            (5400, "1 hour"), (600, "10 minutes"), (30, "30 seconds")])
def test_how_long_a_link_works_in_words(seconds, words):
    assert duration_words(seconds) == words


@pytest.fixture
def limits(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"


def test_reset_requests_are_limited_per_address_however_it_is_typed(client, shopper, settings, limits, mail_tasks):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": [
        ("ip", "100/m"), ("ops.ratelimits.posted_email", "2/h")]}
    for address, typed in (("10.0.0.1", shopper.email), ("10.0.0.2", shopper.email.upper())):
        answer = mail_tasks.committed(client.post, reverse("password_reset"), {"email": typed}, REMOTE_ADDR=address)
        assert answer.status_code == 302

    same_address = client.post(reverse("password_reset"), {"email": f" {shopper.email.title()}"},
                               REMOTE_ADDR="10.0.0.3")
    other_address = client.post(reverse("password_reset"), {"email": "someone@example.com"}, REMOTE_ADDR="10.0.0.3")

    assert same_address.status_code == 429 and int(same_address["Retry-After"]) >= 1
    assert other_address.status_code == 302
    assert len(mail.outbox) == 2


def test_reset_requests_are_limited_per_client(client, db, settings, limits):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": [
        ("ip", "3/m"), ("ops.ratelimits.posted_email", "100/h")]}

    answers = [client.post(reverse("password_reset"), {"email": f"guess{n}@example.com"}).status_code
               for n in range(4)]

    assert answers == [302, 302, 302, 429]


def test_the_default_limits_cover_the_reset_by_address_and_by_client(settings):
    keys = [key for key, _ in settings.RATE_LIMITS["password_reset"]]
    assert keys == ["ip", "ops.ratelimits.posted_email"]
    assert "password_reset" in settings.RATE_LIMITS_COUNT_LOCALLY
