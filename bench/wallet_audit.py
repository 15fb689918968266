"""``manage.py audit_wallets`` on a million ledger entries, against the per-wallet loop it replaces.

    .venv/bin/python bench/wallet_audit.py [--wallets 10000] [--entries-per-wallet 100]

In a PostgreSQL database ``bench_wallet_audit`` on 127.0.0.1 (created and dropped by the script), SQL generates
10,000 wallets with 100 entries each (a purchase, then spends) and consistent cached sums. The audit's set-based
queries are timed on the whole ledger; the baseline is the obvious per-wallet check through the ORM (sum the
entries, walk the running balance in Python), timed on a sample of wallets and extrapolated to all of them.
Then one wallet is corrupted and the audit must report exactly that one.
"""

import argparse
import sys
import time

from _common import claim_redis_db, django_on_fresh_database, run_database

DATABASE = run_database("bench_wallet_audit")
REDIS_DB = claim_redis_db()
SAMPLE = 200

GENERATE_ENTRIES = """
INSERT INTO wallet_ledgerentry (wallet_id, amount, kind, balance_after, description, idempotency_key,
                                stripe_object_id, metadata, created_at)
SELECT w.id, e.amount, e.kind, SUM(e.amount) OVER (PARTITION BY w.id ORDER BY e.n), 'Bench entry',
       'audit:' || w.id || ':' || e.n, '', '{}', now() - (%(per_wallet)s - e.n) * interval '1 minute'
  FROM wallet_wallet w
 CROSS JOIN LATERAL (
       SELECT n,
              CASE WHEN n = 1 THEN 10000 ELSE -(1 + (n * 7 + w.id) %% 50) END AS amount,
              CASE WHEN n = 1 THEN 'purchase' ELSE 'spend' END AS kind
         FROM generate_series(1, %(per_wallet)s) AS n) AS e
 ORDER BY w.id, e.n
"""
CACHE_SUMS = """
UPDATE wallet_wallet w
   SET balance = s.balance, lifetime = s.lifetime, spent = s.spent
  FROM (SELECT wallet_id, SUM(amount) AS balance,
               SUM(amount) FILTER (WHERE kind = 'purchase') AS lifetime,
               -SUM(amount) FILTER (WHERE kind = 'spend') AS spent
          FROM wallet_ledgerentry GROUP BY wallet_id) AS s
 WHERE s.wallet_id = w.id
"""


def per_wallet_check(wallet) -> bool:
    """What an audit without window functions does: one round of queries and a Python walk per wallet."""
    from wallet.models import LedgerEntry

    running, lifetime, spent, ok = 0, 0, 0, True
    for amount, kind, balance_after in (LedgerEntry.objects.filter(wallet=wallet).order_by("id")
                                        .values_list("amount", "kind", "balance_after")):
        running += amount
        lifetime += amount if kind in LedgerEntry.LIFETIME_KINDS else 0
        spent -= amount if kind in LedgerEntry.SPENT_KINDS else 0
        ok &= balance_after == running
    return ok and (wallet.balance, wallet.lifetime, wallet.spent) == (running, lifetime, spent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--entries-per-wallet", type=int, default=100)
    options = parser.parse_args()

    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB):
        from django.db import connection
        from django.db.models import F

        from shop.models import User
        from wallet.audit import wallet_audit
        from wallet.models import Wallet

        started = time.perf_counter()
        users = User.objects.bulk_create(
            [User(email=f"audit{n}@example.com", password="!") for n in range(options.wallets)], batch_size=5000)
        Wallet.objects.bulk_create([Wallet(user=user) for user in users], batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(GENERATE_ENTRIES, {"per_wallet": options.entries_per_wallet})
            cursor.execute(CACHE_SUMS)
            cursor.execute("ANALYZE")
        print(f"wallet audit benchmark: generated {options.wallets} wallets x {options.entries_per_wallet} "
              f"entries in {time.perf_counter() - started:.1f}s")

        clean = wallet_audit()
        sample = list(Wallet.objects.order_by("?")[:SAMPLE])
        loop_started = time.perf_counter()
        assert all(per_wallet_check(wallet) for wallet in sample), "the per-wallet check disagrees"
        loop = (time.perf_counter() - loop_started) * options.wallets / len(sample)
        print(f"  audit_wallets (set-based)      {clean.seconds:6.2f}s for {clean.entries} entries: "
              f"{'OK' if clean.ok else 'FAILED'}")
        print(f"  per-wallet ORM loop (baseline) {loop:6.2f}s (extrapolated from {len(sample)} wallets); "
              f"speed-up x{loop / clean.seconds:.0f}")

        victim = sample[0]
        Wallet.objects.filter(pk=victim.pk).update(balance=F("balance") - 1)
        dirty = wallet_audit()
        print(f"  after corrupting wallet {victim.pk}: {len(dirty.problems)} problem(s) in {dirty.seconds:.2f}s")
        for problem in dirty.problems:
            print(f"    - {problem}")
        if not clean.ok or len(dirty.problems) != 1 or f"wallet {victim.pk} " not in dirty.problems[0]:
            sys.exit(1)


if __name__ == "__main__":
    main()
