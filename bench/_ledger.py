"""A shop's ledger history made with set-based SQL, for the benches that ask whether a page or a spend stays as
fast at a million entries as at demo size (bench/admin_pages.py, bench/wallet_spend.py). Running this file does
nothing.

``ledger_owners`` adds shoppers with empty wallets; ``ledger_fill`` adds ``per_wallet`` entries to each of the
given wallets in one INSERT ... SELECT -- a million in well under a minute on two CPUs -- and keeps the ledger as the
services leave it, so ``manage.py audit_wallets`` finds nothing wrong:

- each wallet's entries follow on from its balance: four purchases of ``CREDIT`` points, then a spend of
  ``DEBIT``, and so on, each ``balance_after`` the running balance (in id order, as the audit reads it);
- the wallet's balance, lifetime and spent grow by exactly what its new entries add;
- the entries' ``created_at`` are spread evenly over the ``span`` that ends now, the wallets' entries
  interleaved and ids rising with time (as entries are written), so a day's window -- the dashboard's "today" --
  holds a day's share of them and a shopper's history reaches back the whole span.

Then VACUUM ANALYZE: the planner knows the tables' size, and a table as freshly bulk-written (no visibility map,
no hint bits) is not what a shop's ledger looks like a day later -- nor autovacuum's work left to land in the
middle of a measurement."""

from datetime import timedelta

CREDIT = 50
DEBIT = 30
SPEND_EVERY = 5  # the fifth, tenth ... entry of each wallet is a spend
SPAN = timedelta(days=730)

_OWNERS = """
WITH owners AS (
    INSERT INTO shop_user (password, is_superuser, first_name, last_name, email, is_staff, is_active, date_joined)
    SELECT '!', false, '', '', %(prefix)s || lpad(n::text, 6, '0') || '@example.com', false, true, now()
      FROM generate_series(%(first)s, %(last)s) AS n
    RETURNING id)
INSERT INTO wallet_wallet (user_id, balance, lifetime, spent, updated_at)
SELECT id, 0, 0, 0, now() FROM owners
RETURNING id
"""

# n numbers a wallet's new entries (1 first); n / every of them are spends. Ordered by time so that ids rise with
# created_at. The wallet row is read before the UPDATE below changes it (same transaction, earlier statement).
_ENTRIES = """
INSERT INTO wallet_ledgerentry (wallet_id, amount, kind, balance_after, description, idempotency_key,
                                stripe_object_id, metadata, created_at)
SELECT w.id,
       CASE WHEN n %% %(every)s = 0 THEN -%(debit)s ELSE %(credit)s END,
       CASE WHEN n %% %(every)s = 0 THEN 'spend' ELSE 'purchase' END,
       w.balance + %(credit)s * (n - n / %(every)s) - %(debit)s * (n / %(every)s),
       CASE WHEN n %% %(every)s = 0 THEN 'Bench spend ' ELSE 'Bench points ' END || n,
       %(tag)s || ':' || w.id || ':' || n, '', '{}'::jsonb,
       now() - %(span)s * (1 - ((n - 1) * %(wallets)s + w.position + 1)::float8 / (%(wallets)s * %(per_wallet)s))
  FROM generate_series(1, %(per_wallet)s) AS n
 CROSS JOIN (SELECT id, balance, row_number() OVER (ORDER BY id) - 1 AS position
               FROM wallet_wallet WHERE id = ANY(%(wallet_ids)s)) AS w
 ORDER BY n, w.position
"""
_SUMS = """
UPDATE wallet_wallet
   SET balance = balance + %(credited)s - %(debited)s, lifetime = lifetime + %(credited)s,
       spent = spent + %(debited)s, updated_at = now()
 WHERE id = ANY(%(wallet_ids)s)
"""


def ledger_owners(*, count: int, first: int = 1, prefix: str = "ledger-owner-") -> list[int]:
    """``count`` shoppers ``<prefix>000001@example.com`` ... (numbered from ``first``), each with an empty wallet;
    returns the wallets' ids."""
    from django.db import connection, transaction

    assert first + count - 1 < 10**6, "six digits number the shoppers (a number is never a prefix of another)"

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_OWNERS, {"prefix": prefix, "first": first, "last": first + count - 1})
        return sorted(wallet_id for (wallet_id,) in cursor.fetchall())


def ledger_fill(wallet_ids: list[int], *, per_wallet: int, tag: str = "bench:ledger", span: timedelta = SPAN) -> int:
    """``per_wallet`` new entries on each wallet of ``wallet_ids`` (keys ``<tag>:<wallet>:<n>``: a second fill
    needs another tag), then VACUUM ANALYZE; returns how many entries were added."""
    from django.db import connection, transaction

    spends = per_wallet // SPEND_EVERY
    parameters = {"wallet_ids": list(wallet_ids), "wallets": len(wallet_ids), "per_wallet": per_wallet,
                  "every": SPEND_EVERY, "credit": CREDIT, "debit": DEBIT, "tag": tag, "span": span,
                  "credited": CREDIT * (per_wallet - spends), "debited": DEBIT * spends}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ENTRIES, parameters)
        added = cursor.rowcount
        cursor.execute(_SUMS, parameters)
    with connection.cursor() as cursor:  # VACUUM runs outside a transaction
        for table in ("wallet_ledgerentry", "wallet_wallet", "shop_user"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return added
