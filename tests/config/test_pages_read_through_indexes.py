"""Every list page reads through an index whatever the shop's size: with tens of thousands of ledger entries, orders,
products, checkout sessions and webhook events (most of them the signed-in shopper's), each query a page runs is
run under EXPLAIN ANALYZE by PostgreSQL, and none may read a whole big table (``Seq Scan``) nor have any step
handle more than ``MAX_ROWS_HANDLED`` rows (a sort of the shopper's whole history, a GROUP BY over every order).
The tables are seeded with bulk inserts and ANALYZEd, so the planner knows their size and would pick a
sequential scan where no index fits; the query count of each page is bounded too."""

import re

import pytest
from django.contrib.admin import site
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ProductFactory
from checkout.models import CheckoutSession, WebhookEvent
from orders.models import LibraryEntry, Order
from shop.models import Product
from wallet.models import LedgerEntry

ROWS = 20_000
BIG_TABLES = ("wallet_ledgerentry", "orders_order", "shop_product", "checkout_checkoutsession",
              "checkout_webhookevent", "orders_libraryentry")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
# The most rows one step of a page's plan may produce or filter out: the admin's capped count reads 1,001.
MAX_ROWS_HANDLED = 1_001
ACTUAL_ROWS = re.compile(r"actual time=\S+ rows=(\d+) loops=(\d+)")
REMOVED_ROWS = re.compile(r"Rows Removed by (?:Filter|Join Filter|Index Recheck): (\d+)")

USERS = """
INSERT INTO shop_user (password, is_superuser, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, '', '', 'someone' || n || '@example.com', false, true, now() FROM generate_series(1, 500) n;
INSERT INTO wallet_wallet (user_id, balance, lifetime, spent, updated_at)
SELECT id, 1000000, 1000000, 0, now() FROM shop_user WHERE email LIKE 'someone%%';
"""
SEEDS = {
    "wallet_ledgerentry": """
-- Most entries are the shopper's (a long history), the rest spread over the other wallets.
INSERT INTO wallet_ledgerentry (wallet_id, amount, kind, balance_after, description, idempotency_key,
                                stripe_object_id, metadata, created_at)
SELECT CASE WHEN n %% 4 = 0 THEN (SELECT min(id) FROM wallet_wallet WHERE user_id <> %(shopper)s) + n %% 400
            ELSE %(wallet)s END,
       10, 'purchase', 10 * n, 'Seeded entry ' || n, 'seed:' || n,
       CASE WHEN n %% 10 = 0 THEN 'cs_seed_' || n ELSE '' END,
       '{}'::jsonb, now() - n * interval '1 hour'
FROM generate_series(1, %(rows)s) n;
""",
    "shop_product": """
INSERT INTO shop_product (title, slug, description, image, preview, price_cents, price_points, currency, is_active,
                          stock, created_at, updated_at)
SELECT 'Seeded print ' || n, 'seeded-print-' || n, '', 'products/seed.png', '', 100, 100, 'usd', n %% 10 <> 0, NULL,
       now(), now()
FROM generate_series(1, %(rows)s) n;
""",
    "orders_order": """
INSERT INTO orders_order (id, user_id, payment_method, status, dispute_status, total_cents, total_points, currency,
                          refunded_cents, refunded_points, idempotency_key, stripe_payment_intent_id, created_at,
                          updated_at)
SELECT gen_random_uuid(),
       CASE WHEN n %% 4 = 0 THEN (SELECT min(id) FROM shop_user WHERE email LIKE 'someone%%') + n %% 400
            ELSE %(shopper)s END,
       -- one in five an attempt abandoned before payment (listed apart, behind "show abandoned attempts")
       'points', CASE WHEN n %% 5 = 0 THEN 'cancelled' ELSE 'completed' END, '', 0, 100, 'usd', 0, 0,
       'seed-order:' || n, '', now() - n * interval '1 hour', now() - n * interval '1 hour'
FROM generate_series(1, %(rows)s) n;
INSERT INTO orders_orderitem (order_id, product_id, title, unit_price_cents, unit_price_points, quantity)
SELECT o.id, %(product)s, 'Seeded print', 0, 100, 2 FROM orders_order o;
""",
    # After the products and the orders: each completed order delivers a product of its own, into its buyer's library.
    "orders_libraryentry": """
INSERT INTO orders_libraryentry (user_id, product_id, order_item_id, created_at)
SELECT o.user_id, p.id, i.id, o.created_at
FROM (SELECT id, user_id, created_at, row_number() OVER (ORDER BY created_at, id) AS rn
      FROM orders_order WHERE status = 'completed') o
JOIN orders_orderitem i ON i.order_id = o.id
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM shop_product WHERE slug LIKE 'seeded-print-%%') p
  ON p.rn = o.rn;
""",
    "checkout_checkoutsession": """
INSERT INTO checkout_checkoutsession (id, user_id, kind, title, description, amount_cents, currency, status,
                                      created_at, updated_at, expires_at, stripe_session_id, stripe_checkout_url,
                                      stripe_payment_intent_id, stripe_status, stripe_payment_status,
                                      awaiting_stripe, failure_message, stripe_refunded_cents, completed_at,
                                      check_failure)
SELECT gen_random_uuid(), %(shopper)s, 'points_package', 'Seeded', '', 100, 'usd',
       CASE WHEN n %% 2 = 0 THEN 'completed' ELSE 'expired' END,
       now() - n * interval '1 hour', now() - n * interval '1 hour', now() - n * interval '1 hour' + interval '1 day',
       'cs_seeded_' || n, '', '', '', '', false, '', 0,
       CASE WHEN n %% 2 = 0 THEN now() - n * interval '1 hour' END, ''
FROM generate_series(1, %(rows)s) n;
""",
    "checkout_webhookevent": """
INSERT INTO checkout_webhookevent (event_id, type, stripe_object_id, api_version, payload, status, error, attempts,
                                   received_at)
SELECT 'evt_seeded_' || n, 'checkout.session.completed', 'cs_seeded_' || n, '', '{}'::jsonb, 'processed', '', 1,
       now() - n * interval '1 hour'
FROM generate_series(1, %(rows)s) n;
""",
}


def seed(shopper, tables=BIG_TABLES):
    """``ROWS`` in each of ``tables``, most of them the shopper's, among 500 other shoppers; statistics up to date."""
    product = ProductFactory(title="A print in the shopper's orders")
    parameters = {"shopper": shopper.pk, "wallet": shopper.wallet.pk, "rows": ROWS, "product": product.pk}
    with connection.cursor() as cursor:
        cursor.execute(USERS, parameters)
        for table in tables:
            cursor.execute(SEEDS[table], parameters)
        for table in (*tables, "orders_orderitem", "shop_user", "wallet_wallet"):
            cursor.execute(f"ANALYZE {table}")
    return shopper


@pytest.fixture
def big_ledger(shopper):
    return seed(shopper, ["wallet_ledgerentry"])


@pytest.fixture
def big_orders(shopper):
    return seed(shopper, ["orders_order"])


@pytest.fixture
def big_catalog(shopper):
    return seed(shopper, ["shop_product"])


@pytest.fixture
def big_library(shopper):
    return seed(shopper, ["shop_product", "orders_order", "orders_libraryentry"])


@pytest.fixture
def big_shop(shopper):
    return seed(shopper)


def plans(captured) -> list[tuple[str, str]]:
    """(SQL, plan as run) of each captured SELECT."""
    found = []
    with connection.cursor() as cursor:
        for query in captured:
            sql = query["sql"]
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute(f"EXPLAIN ANALYZE {sql}")
                found.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return found


def sequential_scans(captured, tables=BIG_TABLES) -> dict[str, str]:
    """Each of ``tables`` some captured SELECT reads whole, with that query's plan."""
    return {table: f"{sql}\n{plan}" for sql, plan in plans(captured)
            for table in SEQ_SCAN.findall(plan) if table in tables}


def heavy_steps(captured) -> list[str]:
    """Plans with a step that produced or filtered out more than ``MAX_ROWS_HANDLED`` rows."""
    heavy = []
    for sql, plan in plans(captured):
        handled = [int(rows) * int(loops) for rows, loops in ACTUAL_ROWS.findall(plan)]
        handled += [int(rows) for rows in REMOVED_ROWS.findall(plan)]
        if handled and max(handled) > MAX_ROWS_HANDLED:
            heavy.append(f"{sql}\n{plan}")
    return heavy


def visit(client, url, *, max_queries: int, **kwargs):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.content[:500]
    assert len(captured) <= max_queries, "\n".join(query["sql"] for query in captured)
    scans = sequential_scans(captured)
    assert not scans, "\n\n".join(scans.values())
    heavy = heavy_steps(captured)
    assert not heavy, "\n\n".join(heavy)
    return response


def test_the_planner_would_scan_a_table_no_index_serves(big_ledger):
    """The check above can fail: a query filtering on a column without an index reads the whole ledger."""
    with CaptureQueriesContext(connection) as captured:
        list(LedgerEntry.objects.filter(description="Seeded entry 7"))

    assert set(sequential_scans(captured)) == {"wallet_ledgerentry"}


def test_the_check_sees_a_sort_of_the_whole_history(big_ledger):
    """... and a query that picks the wallet through a join sorts every entry of the shopper's history."""
    with CaptureQueriesContext(connection) as captured:
        list(LedgerEntry.objects.filter(wallet__user=big_ledger).order_by("-created_at", "-id")[:21])

    assert heavy_steps(captured)


@pytest.mark.parametrize("query", ["", "?before=not-a-cursor"])
def test_wallet_history(client, big_ledger, query):
    client.force_login(big_ledger)

    response = visit(client, reverse("wallet:home") + query, max_queries=2)

    assert response.content.count(b'class="ledger-entry') == 20


def test_wallet_history_older_entries(client, big_ledger):
    client.force_login(big_ledger)
    first = client.get(reverse("wallet:home")).content.decode()
    cursor = re.search(r'href="/wallet/\?before=([\w-]+)"', first).group(1)

    response = visit(client, reverse("wallet:home") + f"?before={cursor}", max_queries=2,
                     headers={"HX-Request": "true"})

    assert response.content.count(b'class="ledger-entry') == 20


def test_orders_list(client, big_orders):
    client.force_login(big_orders)

    response = visit(client, reverse("orders:list"), max_queries=2)

    assert response.content.count(b'href="/orders/') >= 20
    assert b'<td data-label="Items">2</td>' in response.content  # each order's item count
    cursor = re.search(r'href="\?before=([\w-]+)"', response.content.decode()).group(1)
    older = visit(client, reverse("orders:list") + f"?before={cursor}", max_queries=2)
    assert older.content.count(b'href="/orders/') >= 20


def test_orders_list_of_abandoned_attempts(client, big_orders):
    client.force_login(big_orders)

    response = visit(client, reverse("orders:list") + "?attempts=1", max_queries=2)

    assert response.content.count(b'href="/orders/') >= 20
    assert b"Cancelled" in response.content and b"Completed" not in response.content
    cursor = re.search(r'href="\?attempts=1&amp;before=([\w-]+)"', response.content.decode()).group(1)
    older = visit(client, reverse("orders:list") + f"?attempts=1&before={cursor}", max_queries=2)
    assert older.content.count(b'href="/orders/') >= 20 and b"Completed" not in older.content


def test_library(client, big_library):
    client.force_login(big_library)

    response = visit(client, reverse("orders:library"), max_queries=2)

    assert response.content.count(b'class="card library-entry"') == 20
    assert response.content.count(b'href="/downloads/') == 20
    cursor = re.search(r'href="\?before=([\w-]+)"', response.content.decode()).group(1)
    older = visit(client, reverse("orders:library") + f"?before={cursor}", max_queries=2)
    assert older.content.count(b'class="card library-entry"') == 20


def test_catalog_signed_in_marks_owned_products(client, big_library):
    client.force_login(big_library)

    # the header's query and the page's, which reads each product's ownership with it
    response = visit(client, reverse("shop:catalog"), max_queries=2)

    assert response.content.count(b"product-card") == 12
    owned = LibraryEntry.objects.filter(user=big_library, product__title__in=re.findall(
        r'<h2 class="card-title">([^<]+)</h2>', response.content.decode())).count()
    assert owned and response.content.count(b"You own this") == owned


def test_product_page_of_an_owned_product(client, big_library):
    client.force_login(big_library)
    owned = big_library.library.filter(product__is_active=True).select_related("product").first().product

    response = visit(client, reverse("shop:product", args=[owned.slug]), max_queries=3)

    assert b"You own this" in response.content


@pytest.mark.parametrize("page", ["", "?page=2", "?page=nonsense"])
def test_catalog(client, big_catalog, page):
    response = visit(client, reverse("shop:catalog") + page, max_queries=1)

    assert response.content.count(b"product-card") == 12


def test_product_page(client, big_catalog):
    visit(client, reverse("shop:product", args=["seeded-print-7"]), max_queries=1)


def test_product_page_of_a_product_not_owned_signed_in(client, big_library):
    """The header's query and the product's, with its ownership: the library row is read only when owned."""
    client.force_login(big_library)
    owned = set(big_library.library.values_list("product_id", flat=True))
    other = Product.objects.filter(is_active=True).exclude(pk__in=owned).first()

    response = visit(client, reverse("shop:product", args=[other.slug]), max_queries=2)

    assert b"You own this" not in response.content and b"Buy now" in response.content


@pytest.fixture
def big_shop_staff(client, big_shop, staff):
    client.force_login(staff)
    return client


STAFF_LISTS = [
    ("admin:wallet_ledgerentry_changelist", {}),
    ("admin:wallet_ledgerentry_changelist", {"q": "someone7@example.com"}),
    ("admin:wallet_ledgerentry_changelist", {"q": "someone7"}),
    ("admin:wallet_ledgerentry_changelist", {"q": "seed:77"}),
    ("admin:wallet_ledgerentry_changelist", {"q": "cs_seed_70"}),
    ("admin:wallet_ledgerentry_changelist", {"p": "3"}),
    ("admin:orders_order_changelist", {}),
    ("admin:orders_order_changelist", {"q": "someone7@example.com"}),
    ("admin:orders_order_changelist", {"q": "seed-order:77"}),
    ("admin:orders_order_changelist", {"q": "0A1B2C3D"}),
    ("admin:checkout_checkoutsession_changelist", {}),
    ("admin:checkout_checkoutsession_changelist", {"q": "cs_seeded_5"}),
    ("admin:checkout_checkoutsession_changelist", {"status__exact": "completed"}),
    ("admin:checkout_webhookevent_changelist", {}),
    ("admin:checkout_webhookevent_changelist", {"q": "evt_seeded_5"}),
    ("admin:checkout_webhookevent_changelist", {"type": "charge.refunded"}),
]


def test_staff_change_lists(big_shop_staff):
    """One seeding for every list (it is the slow part): each list, search and filter in turn."""
    for changelist, query in STAFF_LISTS:
        response = visit(big_shop_staff, reverse(changelist), max_queries=10, data=query)
        assert b'id="changelist"' in response.content, (changelist, query)


def test_staff_searches_find_what_they_look_for(big_shop_staff, big_shop):
    owner = LedgerEntry.objects.exclude(wallet__user=big_shop).select_related("wallet__user").first().wallet.user
    prefix = owner.email.split("@")[0] + "@"  # "someone12@" and not "someone123@"

    entries = big_shop_staff.get(reverse("admin:wallet_ledgerentry_changelist"), {"q": prefix.upper()}).content
    by_key = big_shop_staff.get(reverse("admin:orders_order_changelist"), {"q": "seed-order:77"}).content

    shown = set(re.findall(rb"someone\d+@example\.com", entries))
    assert shown == {owner.email.encode()}
    assert b"1 order" in by_key and b"0 orders" not in by_key


def test_staff_change_list_counts_are_not_exact_full_counts(big_shop_staff):
    """A big table's unfiltered list takes PostgreSQL's estimate of its rows; a filtered one counts up to a limit."""
    with CaptureQueriesContext(connection) as unfiltered:
        whole = big_shop_staff.get(reverse("admin:wallet_ledgerentry_changelist"))
    with CaptureQueriesContext(connection) as filtered:
        spends = big_shop_staff.get(reverse("admin:wallet_ledgerentry_changelist"), {"kind__exact": "purchase"})

    # (the header's cart count, a few rows of the signed-in user's cart, is not a count of the list's table)
    assert not [query for query in unfiltered
                if "COUNT(" in query["sql"].upper() and "wallet_ledgerentry" in query["sql"].lower()]
    assert any("reltuples" in query["sql"] for query in unfiltered)
    counts = [query["sql"] for query in filtered
              if "COUNT(" in query["sql"].upper() and "wallet_ledgerentry" in query["sql"].lower()]
    assert counts and all("LIMIT 1001" in sql.upper() for sql in counts), counts
    assert re.search(rb"\b2\d,\d{3} ledger entries|\b2\d\d\d\d ledger entries", whole.content)
    assert b"1000 ledger entries" in spends.content or b"1,000 ledger entries" in spends.content


# Shoppers with a wallet and no history: they make the users' and wallets' tables big, not the ledger.
MORE_SHOPPERS = """
WITH users AS (
    INSERT INTO shop_user (password, is_superuser, first_name, last_name, email, is_staff, is_active, date_joined)
    SELECT '!', false, '', '', 'quiet' || n || '@example.com', false, true, now() FROM generate_series(1, %(count)s) n
    RETURNING id)
INSERT INTO wallet_wallet (user_id, balance, lifetime, spent, updated_at) SELECT id, 0, 0, 0, now() FROM users;
ANALYZE shop_user;
ANALYZE wallet_wallet;
"""


@pytest.fixture
def big_ledger_many_shoppers(client, big_ledger, staff):
    """The big ledger in a shop of ten thousand more shoppers: staff signed in."""
    with connection.cursor() as cursor:
        cursor.execute(MORE_SHOPPERS, {"count": 10_000})
    client.force_login(staff)
    return client


@pytest.mark.parametrize("search", ["an email", "the start of emails", "a key", "a Stripe id"])
def test_staff_ledger_search_reads_the_shoppers_of_the_shown_rows_only(big_ledger_many_shoppers, big_ledger, search):
    """A search's entries are found through indexes, then sorted; joining their wallets and shoppers before that
    sort made PostgreSQL hash every wallet and every user once a search matched a few shoppers (a Seq Scan of each:
    a cost growing with the shop's shoppers, not with the page). The shown rows' wallets and shoppers are read by
    primary key instead, and the query of the rows reads the ledger alone."""
    owner = (LedgerEntry.objects.exclude(wallet__user=big_ledger).select_related("wallet__user").order_by("id")
             .first().wallet.user.email)  # someone<n>@example.com
    term = {"an email": owner, "the start of emails": owner[:len("someone") + 1], "a key": "seed:76",
            "a Stripe id": "cs_seed_40"}[search]
    found = (LedgerEntry.objects.filter(Q(wallet__user__email__startswith=term) | Q(idempotency_key=term)
                                        | Q(stripe_object_id=term)).select_related("wallet__user"))
    owners = {entry.wallet.user.email for entry in found}

    with CaptureQueriesContext(connection) as captured:
        response = big_ledger_many_shoppers.get(reverse("admin:wallet_ledgerentry_changelist"), {"q": term})

    assert response.status_code == 200 and len(captured) <= 10
    whole = sequential_scans(captured, tables=("shop_user", "wallet_wallet", "wallet_ledgerentry"))
    assert not whole, "\n\n".join(whole.values())
    rows = [query["sql"] for query in captured if query["sql"].startswith('SELECT "wallet_ledgerentry"."id"')]
    assert rows and not [sql for sql in rows if " JOIN " in sql], rows
    assert owners and set(re.findall(r"someone\d+@example\.com", response.content.decode())) == owners
    shown = len(found)
    assert f"{shown} ledger entr{'y' if shown == 1 else 'ies'}".encode() in response.content


def test_staff_ledger_list_sorts_only_by_columns_an_index_keeps_in_order(big_shop_staff):
    """Sorting the ledger by points (or any column no index keeps in order) reads and sorts every entry: only the
    indexed columns offer sorting, and such an order asked for by hand (``?o=``) is ignored."""
    ledger = site._registry[LedgerEntry]
    url = reverse("admin:wallet_ledgerentry_changelist")
    for column in ledger.sortable_by:
        position = ledger.list_display.index(column)
        for order in (f"{position}", f"-{position}"):
            visit(big_shop_staff, url, max_queries=10, data={"o": order})

    points = ledger.list_display.index("points")
    response = visit(big_shop_staff, url, max_queries=10, data={"o": f"{points}"})

    assert "points" not in ledger.sortable_by
    newest = LedgerEntry.objects.order_by("-created_at", "-id").first()
    assert [entry.pk for entry in response.context["cl"].result_list][:1] == [newest.pk]


@pytest.mark.parametrize("model, unsortable", [(Order, "status"), (CheckoutSession, "title"), (WebhookEvent, "type")])
def test_staff_lists_sort_only_by_columns_an_index_keeps_in_order(big_shop_staff, model, unsortable):
    admin_class = site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for column in admin_class.sortable_by:
        position = admin_class.list_display.index(column)
        for order in (f"{position}", f"-{position}"):
            visit(big_shop_staff, url, max_queries=10, data={"o": order})

    response = visit(big_shop_staff, url, max_queries=10,
                     data={"o": f"{admin_class.list_display.index(unsortable)}"})

    assert unsortable not in admin_class.sortable_by
    newest = model.objects.order_by(*admin_class.ordering).first()
    assert [row.pk for row in response.context["cl"].result_list][:1] == [newest.pk]


def test_staff_dashboard(big_shop_staff):
    visit(big_shop_staff, reverse("admin:dashboard"), max_queries=20)


@pytest.mark.parametrize("page", ["shop:catalog", "orders:cart"])
def test_signed_in_pages_read_the_header_once(client, big_catalog, page):
    """Session, user, balance and cart count: one query, whatever the page shows of them."""
    client.force_login(big_catalog)

    # the header's query and the page's own
    response = visit(client, reverse(page), max_queries=2)

    assert b'data-balance="0"' in response.content and b'data-count="0"' in response.content
