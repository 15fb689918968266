"""Changing the account's e-mail address: asked for with the password, confirmed by a signed link mailed to the
new address (on SITE_URL), applied only when that link is used, refused for an address another account has, and
announced to the old address."""

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop.models import User
from shop.services import (
    EmailAlreadyRegistered,
    EmailChangeLinkInvalid,
    email_change_confirm,
    email_change_token,
)
from tests.factories import UserFactory
from tests.shop.helpers import html_part, links_in, sent_to

NEW = "new.home@example.com"


def ask_to_change(client, mail_tasks, new_email=NEW, password=None):
    from tests.factories import TEST_PASSWORD

    return mail_tasks.committed(client.post, reverse("email_change"),
                                {"new_email": new_email, "password": password or TEST_PASSWORD})


def confirmation_path(address=NEW) -> str:
    [message] = sent_to(address)
    [link] = links_in(message, "/accounts/email/confirm/")
    return link.removeprefix("http://127.0.0.1:8000")


def test_the_account_menu_links_to_the_form(shopper_client):
    page = shopper_client.get(reverse("shop:catalog"))

    assert f'href="{reverse("email_change")}"'.encode() in page.content
    assert b"Change your email address" in shopper_client.get(reverse("email_change")).content


def test_the_form_needs_a_login(client, db):
    response = client.get(reverse("email_change"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_asking_mails_a_link_to_the_new_address_and_changes_nothing_yet(shopper_client, shopper, mail_tasks,
                                                                        settings):
    settings.SITE_URL = "https://shop.example.com"

    response = ask_to_change(shopper_client, mail_tasks, new_email="New.Home@Example.com")

    assert response.status_code == 302
    shopper.refresh_from_db()
    assert shopper.email.startswith("shopper")  # unchanged until the link is opened
    [message] = mail.outbox
    assert message.to == [NEW]  # stored lower-cased, like every address
    [link] = links_in(message, "/accounts/email/confirm/")
    assert link.startswith("https://shop.example.com/accounts/email/confirm/")
    assert f'href="{link}"' in html_part(message)
    assert "1 day" in message.body
    page = shopper_client.get(reverse("email_change"))
    assert f"We sent a confirmation link to {NEW}".encode() in page.content


@pytest.mark.parametrize("new_email, password, error", [
    (NEW, "not-my-password", b"Your password was entered incorrectly"),
    ("SHOPPER-SELF", None, b"That is already your email address"),
    ("not-an-address", None, b"valid email"),
])
def test_bad_requests_are_explained_and_send_nothing(shopper_client, shopper, mail_tasks, new_email, password,
                                                     error):
    new_email = shopper.email.upper() if new_email == "SHOPPER-SELF" else new_email

    response = ask_to_change(shopper_client, mail_tasks, new_email=new_email, password=password)

    assert response.status_code == 200
    assert error in response.content
    assert mail_tasks == [] and mail.outbox == []


def test_an_address_another_account_has_is_refused_however_it_is_typed(shopper_client, mail_tasks):
    other = UserFactory(email="taken@example.com")

    response = ask_to_change(shopper_client, mail_tasks, new_email="TAKEN@Example.COM")

    assert response.status_code == 200
    assert b"Another account uses this email address" in response.content
    assert mail.outbox == []
    assert User.objects.get(pk=other.pk).email == "taken@example.com"


def test_opening_the_link_shows_the_change_and_confirming_applies_it_once(client, shopper, mail_tasks, password):
    client.force_login(shopper)
    old_email = shopper.email
    ask_to_change(client, mail_tasks)
    path = confirmation_path()

    shown = client.get(path)
    assert shown.status_code == 200
    assert f"Use {NEW}".encode() in shown.content
    assert User.objects.get(pk=shopper.pk).email == old_email  # a GET (a mail scanner) changes nothing

    done = mail_tasks.committed(client.post, path)

    assert done.status_code == 200 and b"Your email address is changed" in done.content
    assert User.objects.get(pk=shopper.pk).email == NEW
    assert client.get(reverse("wallet:home")).status_code == 200  # still logged in
    [notice] = sent_to(old_email)
    assert NEW in notice.body and NEW in html_part(notice)
    assert "was changed" in notice.subject
    # the new address logs in, the old one no longer does
    fresh = Client()
    assert fresh.post(reverse("login"), {"username": NEW.upper(), "password": password}).status_code == 302
    assert Client().post(reverse("login"), {"username": old_email, "password": password}).status_code == 200
    # a second click finds the change made
    again = mail_tasks.committed(client.post, path)
    assert again.status_code == 404 and b"no longer works" in again.content
    assert len(sent_to(old_email)) == 1


def test_the_link_works_from_a_browser_that_is_not_logged_in(client, shopper, mail_tasks):
    client.force_login(shopper)
    ask_to_change(client, mail_tasks)
    path = confirmation_path()
    client.logout()

    done = mail_tasks.committed(client.post, path)

    assert done.status_code == 200
    assert User.objects.get(pk=shopper.pk).email == NEW
    assert f'href="{reverse("login")}"'.encode() in done.content


def test_an_address_taken_before_the_link_is_used_is_refused_then(client, shopper, mail_tasks):
    client.force_login(shopper)
    ask_to_change(client, mail_tasks)
    path = confirmation_path()
    UserFactory(email=NEW)

    response = mail_tasks.committed(client.post, path)

    assert response.status_code == 409
    assert b"Another account uses this email address" in response.content
    assert User.objects.get(pk=shopper.pk).email != NEW


def test_the_database_decides_when_the_address_is_taken_in_the_same_instant(shopper):
    token = email_change_token(user=shopper, new_email="race@example.com")
    # the other account was created with the address in capitals, past any check in Python
    User.objects.filter(pk=UserFactory().pk).update(email="RACE@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        email_change_confirm(token=token)


def test_an_expired_link_changes_nothing(client, shopper, mail_tasks, settings):
    client.force_login(shopper)
    ask_to_change(client, mail_tasks)
    path = confirmation_path()

    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=settings.EMAIL_CHANGE_LINK_TTL + 5)):
        response = client.post(path)

    assert response.status_code == 410 and b"expired" in response.content
    assert User.objects.get(pk=shopper.pk).email != NEW


def test_a_password_change_cancels_a_pending_change(client, shopper, mail_tasks):
    client.force_login(shopper)
    ask_to_change(client, mail_tasks)
    path = confirmation_path()
    shopper.set_password("a-different-Passw0rd-9")
    shopper.save()

    response = client.post(path)

    assert response.status_code == 404
    assert User.objects.get(pk=shopper.pk).email != NEW


@pytest.mark.parametrize("token", ["nonsense", "eyJ1c2VyIjoxfQ:1abc:forged"])
def test_a_broken_or_forged_link_is_refused(client, db, token):
    for method in (client.get, client.post):
        response = method(reverse("email_change_confirm", args=[token]))
        assert response.status_code == 404
        assert b"This link can" in response.content


def test_a_link_for_one_account_never_changes_another(shopper):
    other = UserFactory()
    token = email_change_token(user=shopper, new_email=NEW)
    tampered = token.replace(token.split(":")[0], email_change_token(user=other, new_email=NEW).split(":")[0])

    with pytest.raises(EmailChangeLinkInvalid):
        email_change_confirm(token=tampered)
    assert User.objects.get(pk=other.pk).email != NEW


def test_no_confirmation_is_mailed_to_an_address_taken_after_asking(shopper_client, mail_tasks, monkeypatch):
    from shop import tasks

    held = []
    monkeypatch.setattr(tasks.send_email_change_confirmation, "delay", lambda *args: held.append(args))
    ask_to_change(shopper_client, mail_tasks)
    UserFactory(email=NEW)

    tasks.send_email_change_confirmation(*held[0])

    assert mail.outbox == []
