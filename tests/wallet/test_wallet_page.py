import re

import pytest
from django.test.utils import CaptureQueriesContext
from django.db import connection
from django.urls import reverse

from tests.factories import UserFactory
from tests.wallet.helpers import credit
from wallet.selectors import HISTORY_PAGE_SIZE
from wallet.services import wallet_spend

URL = reverse("wallet:home")
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/wallet/"}


def entry_ids(content: bytes) -> list[int]:
    return [int(found) for found in re.findall(rb'id="entry-(\d+)"', content)]


def make_history(user, count: int) -> list[int]:
    """``count`` entries, returned newest first."""
    ids = [credit(user, 1000, metadata={"package_name": "Premium"}).pk]
    for number in range(count - 1):
        ids.append(wallet_spend(user=user, points=1, idempotency_key=f"{user.pk}:spend:{number}",
                                description=f"Order {number}").pk)
    return ids[::-1]


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def test_the_page_shows_the_balance_card_and_readable_entries(signed_in, shopper, staff):
    from wallet.services import wallet_adjust

    credit(shopper, 500, metadata={"package_name": "Premium"}, description="Bought the Premium package")
    wallet_spend(user=shopper, points=120, idempotency_key="order:1:pay", description="Order 1A2B",
                 metadata={"order_id": "3f2c1d7e-0000-4000-8000-000000000001", "product_slug": "harbour-lights",
                           "product_title": "Harbour Lights"})
    wallet_adjust(user=shopper, points=20, reason="Sorry for the wait", staff_user=staff, idempotency_key="adj:1")

    response = signed_in.get(URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-balance="400"' in content and 'data-lifetime="520"' in content and 'data-spent="120"' in content
    assert "Bought the Premium package" in content and "Premium package</a>" in content
    assert "Order 1A2B" in content and "\u2212120 points" in content and "+500 points" in content
    assert 'href="/orders/3f2c1d7e-0000-4000-8000-000000000001/">View the order</a>' in content
    assert 'href="/products/harbour-lights/"' in content and "Harbour Lights</a>" in content
    assert "Adjustment by staff" in content and "Sorry for the wait" in content
    assert content.index("Sorry for the wait") < content.index("Order 1A2B") < content.index("Bought the Premium")
    assert re.search(r'<time class="entry-when" datetime="\d{4}-\d\d-\d\dT', content)
    assert "no-store" in response["Cache-Control"]
    assert '<a href="/wallet/">Wallet</a>' in content  # the header's way here


def test_an_empty_wallet_invites_to_buy_points(signed_in):
    content = signed_in.get(URL).content.decode()

    assert "No points yet" in content and 'data-balance="0"' in content
    assert "Show older entries" not in content


def test_the_page_shows_only_the_shoppers_own_entries(signed_in, shopper):
    credit(UserFactory(), 777, description="Someone else's purchase")
    mine = credit(shopper, 5, description="My purchase")

    content = signed_in.get(URL).content

    assert entry_ids(content) == [mine.pk]
    assert b"Someone else" not in content


def test_the_first_page_is_the_newest_entries_with_a_load_more_button(signed_in, shopper):
    ids = make_history(shopper, HISTORY_PAGE_SIZE + 5)

    content = signed_in.get(URL).content.decode()

    assert entry_ids(content.encode()) == ids[:HISTORY_PAGE_SIZE]
    assert 'id="history-more"' in content
    assert 'hx-target="closest li"' in content and 'hx-swap="outerHTML"' in content


def test_load_more_returns_just_the_next_rows_until_the_history_ends(signed_in, shopper):
    ids = make_history(shopper, 2 * HISTORY_PAGE_SIZE + 3)
    page = signed_in.get(URL).content.decode()
    seen = entry_ids(page.encode())

    for _ in range(5):
        cursor = re.search(r'hx-get="/wallet/\?before=([\w-]+)"', page)
        if cursor is None:
            break
        response = signed_in.get(URL, {"before": cursor.group(1)}, headers=HTMX)
        page = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in page and "balance-card" not in page
        assert page.lstrip().startswith("<li")
        seen += entry_ids(page.encode())

    assert seen == ids
    assert 'id="history-more"' not in page


def test_without_javascript_older_entries_are_a_link_to_a_full_page(signed_in, shopper):
    ids = make_history(shopper, HISTORY_PAGE_SIZE + 2)
    cursor = re.search(r'href="/wallet/\?before=([\w-]+)"', signed_in.get(URL).content.decode()).group(1)

    response = signed_in.get(URL, {"before": cursor})

    assert b"<html" in response.content and b"balance-card" in response.content
    assert entry_ids(response.content) == ids[HISTORY_PAGE_SIZE:]


@pytest.mark.parametrize("cursor", ["nonsense", "12-abc", "-", "99999999999999999999999-1"])
def test_a_malformed_cursor_starts_from_the_newest(signed_in, shopper, cursor):
    ids = make_history(shopper, 3)

    response = signed_in.get(URL, {"before": cursor}, headers=HTMX)

    assert response.status_code == 200
    assert entry_ids(response.content) == ids


def test_the_balance_card_refreshes_itself_alone(signed_in, shopper):
    credit(shopper, 42)

    response = signed_in.get(URL, headers={**HTMX, "HX-Target": "balance-card"})

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="balance-card"')
    assert 'data-balance="42"' in content and 'hx-trigger="balance-changed from:body"' in content
    assert "ledger-entry" not in content and "<html" not in content


def test_the_history_refreshes_itself_with_the_newest_entries(signed_in, shopper):
    ids = make_history(shopper, HISTORY_PAGE_SIZE + 3)

    response = signed_in.get(URL, headers={**HTMX, "HX-Target": "ledger"})

    content = response.content.decode()
    assert entry_ids(response.content) == ids[:HISTORY_PAGE_SIZE]  # the first page again, whatever was loaded
    assert 'id="history-more"' in content
    assert "balance-card" not in content and "<html" not in content
    page = signed_in.get(URL).content.decode()
    assert re.search(r'<ol id="ledger"[^>]*hx-trigger="balance-changed from:body"', page)


def test_query_counts_do_not_grow_with_the_history(client, db):
    counts = []
    for length in (1, 60):
        user = UserFactory()
        make_history(user, length)
        client.force_login(user)
        with CaptureQueriesContext(connection) as page:
            response = client.get(URL)
        cursor = re.search(r'before=([\w-]+)"', response.content.decode())
        with CaptureQueriesContext(connection) as more:
            client.get(URL, {"before": cursor.group(1) if cursor else "0-0"}, headers=HTMX)
        ledger_reads = [query for query in page.captured_queries if "wallet_ledgerentry" in query["sql"]]
        counts.append((len(page), len(more), len(ledger_reads)))

    assert counts[0] == counts[1]
    page_queries, more_queries, ledger_reads = counts[1]
    assert ledger_reads == 1  # the whole history page in one query; the rest is the header's and the card's
    assert more_queries <= 3  # the session, the user and the page of entries


def test_the_wallet_page_needs_a_login(client, db):
    plain = client.get(URL)
    htmx = client.get(URL, headers=HTMX)

    assert plain.status_code == 302 and plain.url.startswith(reverse("login"))
    assert htmx["HX-Redirect"] == "/accounts/login/?next=%2Fwallet%2F"


def test_each_row_is_rendered_once_and_a_refresh_renders_only_the_new_entry(signed_in, shopper, renders,
                                                                             empty_fragment_caches):
    make_history(shopper, 5)
    first = signed_in.get(URL)

    # given: the page was rendered once (five rows)
    assert renders.count("wallet/partials/ledger_row.html") == 5

    # when: a purchase adds an entry and the history refreshes (balance-changed)
    new = wallet_spend(user=shopper, points=1, idempotency_key="one-more", description="Order 99")
    refreshed = signed_in.get(URL, headers={**HTMX, "HX-Target": "ledger"})

    # then: only the new row was rendered; the others came from the cache, the same HTML as before
    assert renders.count("wallet/partials/ledger_row.html") == 6
    assert entry_ids(refreshed.content) == [new.pk, *entry_ids(first.content)]
    old_row = re.search(rb'<li class="ledger-entry[^>]*id="entry-%d".*?</li>' % entry_ids(first.content)[0],
                        first.content, re.S).group()
    assert old_row in refreshed.content and b"Order 99" in refreshed.content
