"""Redis stopped under a real gunicorn (the Procfile's web command) while shoppers browse, sign in, pay with points
and log out: everything works from PostgreSQL, log-in and sign-up are still rate-limited (per process), the
log-out sticks when Redis is back, and the wallet audit finds every balance equal to its ledger."""

import re

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from orders.models import Order
from tests.factories import ProductFactory, ShopperFactory
from wallet.audit import wallet_audit
from wallet.selectors import wallet_balance

PASSWORD = "correct horse battery staple"
HTMX = {"HX-Request": "true"}


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _sign_in(base: str, email: str, password: str = PASSWORD) -> tuple[requests.Session, int]:
    browser = requests.Session()
    page = browser.get(f"{base}/accounts/login/", timeout=5)
    answer = browser.post(f"{base}/accounts/login/", data={"csrfmiddlewaretoken": _token(page.text),
                                                           "username": email, "password": password},
                          headers={"Referer": f"{base}/accounts/login/"}, allow_redirects=False, timeout=5)
    return browser, answer.status_code


def _post(browser: requests.Session, base: str, path: str, data: dict, *, page: str) -> requests.Response:
    token = _token(browser.get(f"{base}{page}", timeout=5).text)
    return browser.post(f"{base}{path}", data={"csrfmiddlewaretoken": token, **data},
                        headers={"Referer": f"{base}{page}"}, allow_redirects=False, timeout=5)


@pytest.mark.django_db(transaction=True)
def test_a_shop_on_gunicorn_keeps_selling_through_a_redis_outage_and_log_outs_stick(tmp_path, throwaway_redis):
    from tests.faults.conftest import Gunicorn

    shopper, other = ShopperFactory(points=1000), ShopperFactory()
    for user in (shopper, other):  # hashed as production hashes (the tests' own hasher is not configured there)
        user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
        user.save(update_fields=["password"])
    product = ProductFactory(title="Harbour Lights", price_points=450)
    server = Gunicorn(tmp_path, env={"REDIS_URL": f"{throwaway_redis.url}/0",
                                     "CELERY_BROKER_URL": f"{throwaway_redis.url}/1", "RATELIMIT_ENABLE": "true",
                                     "RATE_LIMIT_LOGIN": "3/m"})
    try:
        base = server.base
        browser, status = _sign_in(base, shopper.email)
        assert status == 302
        assert b'data-balance="1000"' in browser.get(f"{base}/wallet/balance/", headers=HTMX, timeout=5).content

        throwaway_redis.stop()

        # browsing, the badge, signing in and paying work from PostgreSQL
        assert requests.get(f"{base}/", timeout=5).status_code == 200
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "degraded: broker, cache"
        assert _sign_in(base, other.email)[1] == 302
        added = _post(browser, base, "/cart/add/", {"product_id": product.pk},
                      page=f"/products/{product.slug}/")
        assert added.status_code == 302
        cart = browser.get(f"{base}/cart/", timeout=5).text
        token = re.search(r'action="/cart/pay/points/".*?name="checkout_token" value="([^"]+)"', cart, re.S).group(1)
        paid = browser.post(f"{base}/cart/pay/points/", data={"csrfmiddlewaretoken": _token(cart),
                                                              "checkout_token": token},
                            headers={"Referer": f"{base}/cart/"}, allow_redirects=False, timeout=5)
        assert paid.status_code in (200, 302)
        assert Order.objects.get(user=shopper).status == "completed"
        assert b'data-balance="550"' in browser.get(f"{base}/wallet/balance/", headers=HTMX, timeout=5).content
        # password guessing still meets a limit (counted by the web process itself): 8 guesses at 3 a minute meet
        # it even if a one-minute window ends among them (one side of the boundary still holds 4)
        guesses = [_sign_in(base, other.email, "wrong")[1] for _ in range(8)]
        assert 429 in guesses, server.log_path.read_text()[-3000:]
        # the shopper logs out while Redis is down
        cookie = browser.cookies.get("sessionid")
        assert _post(browser, base, "/accounts/logout/", {}, page="/").status_code == 302

        throwaway_redis.start()

        # the old cookie is nobody once Redis is back
        replayed = requests.Session()
        replayed.cookies.set("sessionid", cookie)
        badge = replayed.get(f"{base}/wallet/balance/", headers=HTMX, timeout=5)
        assert badge.headers.get("HX-Redirect", "").startswith("/accounts/login/")
        assert replayed.get(f"{base}/orders/", allow_redirects=False, timeout=5).status_code == 302
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        assert wallet_balance(user=shopper).current == 550
        assert wallet_audit().ok
    finally:
        server.stop()
