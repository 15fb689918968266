import pytest
from django.urls import reverse

from shop.models import User
from shop.services import EmailAlreadyRegistered, user_sign_up
from wallet.models import Wallet


def sign_up_form(email="new@example.com", password="a-long-enough-password-1", again=None):
    return {"email": email, "password1": password, "password2": again or password}


def test_sign_up_creates_the_shopper_an_empty_wallet_and_logs_in(client, db):
    response = client.post(reverse("signup"), sign_up_form(email="New@Example.com"))

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance, wallet.lifetime, wallet.spent) == (0, 0, 0)
    page = client.get(reverse("shop:catalog"))
    assert page.context["user"] == user
    assert b'data-balance="0"' in page.content


def test_sign_up_refuses_an_email_that_exists_in_any_case(client, shopper):
    response = client.post(reverse("signup"), sign_up_form(email=shopper.email.upper()))

    assert response.status_code == 200
    assert b"already exists" in response.content
    assert User.objects.count() == 1


@pytest.mark.parametrize("form, message", [
    (sign_up_form(again="something-else-entirely"), b"The two passwords differ"),
    (sign_up_form(password="123"), b"too short"),
    (sign_up_form(email="not-an-email"), b"valid email"),
])
def test_sign_up_explains_bad_input_and_creates_nothing(client, db, form, message):
    response = client.post(reverse("signup"), form)

    assert response.status_code == 200
    assert message in response.content
    assert not User.objects.exists()
    assert not Wallet.objects.exists()


def test_the_database_decides_a_sign_up_race(db):
    user_sign_up(email="race@example.com", password="x")

    with pytest.raises(EmailAlreadyRegistered):
        user_sign_up(email="race@example.com", password="y")
    assert Wallet.objects.count() == 1


def test_log_in_and_log_out(client, shopper, password):
    response = client.post(reverse("login"), {"username": shopper.email, "password": password})
    assert response.status_code == 302
    assert client.get(reverse("shop:catalog")).context["user"] == shopper

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert not client.get(reverse("shop:catalog")).context["user"].is_authenticated


def test_log_in_with_a_wrong_password_says_so(client, shopper):
    response = client.post(reverse("login"), {"username": shopper.email, "password": "wrong"})

    assert response.status_code == 200
    assert b"correct email address and password" in response.content


def test_password_change(shopper_client, shopper, password):
    response = shopper_client.post(reverse("password_change"), {
        "old_password": password, "new_password1": "brand-new-password-42", "new_password2": "brand-new-password-42"})

    assert response.status_code == 302
    shopper.refresh_from_db()
    assert shopper.check_password("brand-new-password-42")


def test_password_change_needs_a_login(client, db):
    response = client.get(reverse("password_change"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_htmx_request_after_login_expired_is_sent_to_log_in_and_back(client, db):
    response = client.get(reverse("wallet:balance"), headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/points/"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fpoints%2F"
    assert b"Log in" not in response.content


def test_plain_request_after_login_expired_gets_an_ordinary_redirect(client, db):
    response = client.get(reverse("wallet:balance"))

    assert response.status_code == 302
    assert "HX-Redirect" not in response


def test_log_in_matches_the_address_however_it_is_typed(client, shopper, password):
    typed = "  " + shopper.email.upper() + " "

    response = client.post("/accounts/login/", {"username": typed, "password": password})

    assert response.status_code == 302
    assert client.get("/wallet/").status_code == 200  # signed in as that shopper


def test_sign_up_takes_the_shopper_where_they_were_going_and_nowhere_else(client, db):
    page = client.get("/accounts/signup/?next=/points/")
    assert b'name="next" value="/points/"' in page.content
    assert b'href="/accounts/login/?next=/points/"' in page.content or b"?next=%2Fpoints%2F" in page.content

    response = client.post("/accounts/signup/", {"email": "new@example.com", "password1": "a-long-Passw0rd!",
                                                 "password2": "a-long-Passw0rd!", "next": "/points/"})
    assert response.status_code == 302 and response["Location"] == "/points/"

    client.logout()
    elsewhere = client.post("/accounts/signup/", {"email": "other@example.com", "password1": "a-long-Passw0rd!",
                                                  "password2": "a-long-Passw0rd!", "next": "https://evil.example/"})
    assert elsewhere.status_code == 302 and elsewhere["Location"] == "/"
