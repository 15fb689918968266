import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from shop.models import User
from tests.factories import UserFactory
from tests.wallet.helpers import credit
from wallet.models import Wallet
from wallet.services import wallet_spend

URL = reverse("wallet:balance")
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/points/"}


@pytest.fixture
def signed_in(client, funded_shopper):
    client.force_login(funded_shopper)
    return client


def test_the_fragment_shows_the_balance_from_the_database(signed_in, funded_shopper):
    wallet_spend(user=funded_shopper, points=250, idempotency_key="order:1:pay", description="Order 1")

    response = signed_in.get(URL, headers=HTMX)

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<a id="balance-badge"')
    assert 'data-balance="750">750 points</a>' in content
    assert 'hx-trigger="balance-changed from:body"' in content
    assert f'href="{reverse("wallet:home")}"' in content
    assert "<html" not in content


def test_the_fragment_is_never_stored_by_a_cache(signed_in):
    response = signed_in.get(URL, headers=HTMX)

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "private"} <= cache_control


def test_an_unchanged_balance_answers_a_conditional_request_with_304(signed_in):
    first = signed_in.get(URL, headers=HTMX)
    etag = first["ETag"]

    again = signed_in.get(URL, headers={**HTMX, "If-None-Match": etag})

    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert "no-store" in again["Cache-Control"]


def test_a_changed_balance_gets_a_new_etag_and_the_new_figure(signed_in, funded_shopper):
    etag = signed_in.get(URL, headers=HTMX)["ETag"]
    credit(funded_shopper, 5)

    response = signed_in.get(URL, headers={**HTMX, "If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert b'data-balance="1005"' in response.content


def test_a_stale_or_foreign_etag_gets_the_full_fragment(client, funded_shopper):
    other = UserFactory()
    credit(other, 1000)
    Wallet.objects.update(updated_at=timezone.now())  # two wallets alike in every figure and timestamp
    client.force_login(other)
    others_etag = client.get(URL)["ETag"]
    client.force_login(funded_shopper)

    for etag in [others_etag, '"something-else"', "*not-an-etag"]:
        response = client.get(URL, headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert b'data-balance="1000"' in response.content
        assert response["ETag"] != others_etag


def test_the_fragment_costs_at_most_two_queries(signed_in, django_assert_max_num_queries):
    etag = signed_in.get(URL, headers=HTMX)["ETag"]  # a first request may load the session into the cache

    with django_assert_max_num_queries(2):
        full = signed_in.get(URL, headers=HTMX)
    with django_assert_max_num_queries(2):
        not_modified = signed_in.get(URL, headers={**HTMX, "If-None-Match": etag})

    assert (full.status_code, not_modified.status_code) == (200, 304)


def test_a_signed_out_htmx_request_is_sent_to_log_in_not_swapped_in(client, db):
    response = client.get(URL, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fpoints%2F"
    assert b"balance-badge" not in response.content and b"<form" not in response.content


def test_only_get_is_allowed(signed_in):
    assert signed_in.post(URL).status_code == 405


# --- the one-query way through authentication (wallet/badge.py) and every case it leaves to Django ----------

def test_a_plain_session_costs_one_query_for_session_user_and_wallet(signed_in, funded_shopper,
                                                                     django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        response = signed_in.get(URL, headers=HTMX)

    assert b'data-balance="1000"' in response.content
    assert "wallet_wallet" in captured.captured_queries[0]["sql"]
    assert "shop_session" in captured.captured_queries[0]["sql"]
    with django_assert_num_queries(0):  # the request's user is the one loaded with the wallet
        assert response.wsgi_request.user.email == funded_shopper.email


def test_a_user_without_a_wallet_row_sees_zero(client, db):
    user = User.objects.create_user(email="no.wallet@example.com", password="x")
    client.force_login(user)

    response = client.get(URL, headers=HTMX)

    assert response.status_code == 200 and b'data-balance="0"' in response.content


def expect_login_redirect(client):
    htmx = client.get(URL, headers=HTMX)
    plain = client.get(URL)
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == "/accounts/login/?next=%2Fpoints%2F"
    assert plain.status_code == 302 and plain.url.startswith("/accounts/login/")
    assert b"balance-badge" not in htmx.content + plain.content


def edit_session(client, **changes):
    session = client.session
    for key, value in changes.items():
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    session.save()


def test_a_password_changed_elsewhere_ends_the_session(signed_in, funded_shopper):
    funded_shopper.set_password("changed-on-another-device")
    funded_shopper.save()

    expect_login_redirect(signed_in)
    assert SESSION_KEY not in signed_in.session  # Django flushed it, as on any page


def test_an_inactive_user_is_sent_to_log_in(signed_in, funded_shopper):
    User.objects.filter(pk=funded_shopper.pk).update(is_active=False)

    expect_login_redirect(signed_in)


@pytest.mark.parametrize("changes", [
    {HASH_SESSION_KEY: None},
    {HASH_SESSION_KEY: "0" * 64},
    {BACKEND_SESSION_KEY: "django.contrib.auth.backends.RemoteUserBackend"},
    {BACKEND_SESSION_KEY: None},
    {SESSION_KEY: "999999"},
], ids=["no-hash", "wrong-hash", "backend-not-configured", "no-backend", "no-such-user"])
def test_a_session_django_would_refuse_is_refused(signed_in, changes):
    edit_session(signed_in, **changes)

    expect_login_redirect(signed_in)


def test_a_session_signed_with_a_retired_secret_key_is_rotated_by_django(client, funded_shopper, settings):
    client.force_login(funded_shopper)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    old_key = client.session.session_key

    response = client.get(URL, headers=HTMX)

    assert response.status_code == 200 and b'data-balance="1000"' in response.content
    assert client.session.session_key != old_key
    assert client.get(URL, headers=HTMX).status_code == 200
