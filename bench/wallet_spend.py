"""Spends per second through ``wallet.services.wallet_spend`` against an independent raw-SQL spend: the same
work written by hand, without the service's SQL, through psycopg directly.

    .venv/bin/python bench/wallet_spend.py [--workers 8] [--seconds 2] [--rounds 3] [--ledger-entries 1000000]

N worker processes (processes, not threads, so that Python's GIL does not stretch the time a wallet row stays
locked) spend 1 point at a time for a fixed time, first all on one hot wallet, then spread over many wallets.

The baseline (the target's) is a transaction as anyone would write it in SQL: ``UPDATE wallet_wallet SET balance
= balance - 1, spent = spent + 1 WHERE id = $1 AND balance >= 1 RETURNING balance``, ``INSERT`` the ledger entry,
``COMMIT`` -- psycopg, no Django, statements prepared. Target: wallet_spend >= 0.5 of it, hot and spread. For
information, against the same baseline: the floor of any design (a single-row conditional UPDATE on a table of
just (id, balance), autocommitted, nothing recorded) and the design not taken (SELECT ... FOR UPDATE, then save()).

Everything runs against a database ``bench_wallet_<run>`` on 127.0.0.1 that the script creates and drops; each
round measures all of them back to back; medians are printed. The ledger is audited at the end.

The ledger is first filled with ``--ledger-entries`` entries (a million by default; set-based, bench/_ledger.py:
100 a wallet, over the bench's wallets and as many more shoppers' as that takes, spread over two years; about 15
seconds on two CPUs), so that spends are measured in a shop with a long history -- bigger indexes to look the
idempotency key up in and to insert into -- against the raw transaction, which writes to the same ledger.
``--ledger-entries 0`` measures on the seed credits alone (demo size).
"""

import argparse
import multiprocessing
import os
import random
import sys
import time

from _common import claim_redis_db, django_on_fresh_database, print_row, raw_connection, run_database, wait_until
from _ledger import ledger_fill, ledger_owners

DATABASE = run_database("bench_wallet")
REDIS_DB = claim_redis_db()
TARGET = 0.5
SPREAD_WALLETS = 500
START_BALANCE = 10**9
PREFILL_PER_WALLET = 100


# --- the three ways of spending, each built inside its worker process ---------------------------------------

def service_spender():
    from shop.models import User
    from wallet.services import wallet_spend

    def spend(user_id, key):
        wallet_spend(user=User(pk=user_id), points=1, idempotency_key=key, description="Bench spend")
    return spend


def row_lock_spender():
    """The design not taken: lock the row with SELECT ... FOR UPDATE, check and save in Python."""
    from django.db import transaction

    from wallet.models import LedgerEntry, Wallet

    @transaction.atomic
    def spend(user_id, key):
        if LedgerEntry.objects.select_related("wallet").filter(idempotency_key=key).first():
            return
        wallet = Wallet.objects.select_for_update().get(user_id=user_id)
        if wallet.balance < 1:
            raise RuntimeError("insufficient")
        wallet.balance -= 1
        wallet.spent += 1
        wallet.save(update_fields=["balance", "spent", "updated_at"])
        LedgerEntry.objects.create(wallet_id=wallet.pk, amount=-1, kind="spend", balance_after=wallet.balance,
                                   description="Bench spend", idempotency_key=key)
    return spend


FLOOR_TABLE = "bench_floor"


def floor_spender():
    """The floor: one conditional single-row UPDATE by primary key, nothing recorded."""
    conn = raw_connection(DATABASE)
    conn.autocommit = True

    def spend(user_id, key):
        with conn.cursor() as cursor:
            cursor.execute(f"UPDATE {FLOOR_TABLE} SET balance = balance - 1 WHERE id = %s AND balance >= 1",
                           [user_id], prepare=True)
            if cursor.rowcount != 1:
                raise RuntimeError("insufficient")
    return spend


def raw_transaction_spender():
    """A spend as anyone would write it in SQL, independently of wallet/services: move the points if the balance
    allows (by the wallet's primary key), record the entry, commit."""
    conn = raw_connection(DATABASE)
    with conn.cursor() as cursor:
        cursor.execute("SELECT user_id, id FROM wallet_wallet")
        wallet_of = dict(cursor.fetchall())
    conn.commit()

    def spend(user_id, key):
        wallet_id = wallet_of[user_id]
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute("UPDATE wallet_wallet SET balance = balance - 1, spent = spent + 1 "
                           "WHERE id = %s AND balance >= 1 RETURNING balance", [wallet_id], prepare=True)
            row = cursor.fetchone()
            if row is None:
                raise RuntimeError("insufficient")
            cursor.execute("INSERT INTO wallet_ledgerentry (wallet_id, amount, kind, balance_after, description, "
                           "idempotency_key, stripe_object_id, metadata, created_at) "
                           "VALUES (%s, -1, 'spend', %s, 'Bench spend', %s, '', '{}', now())",
                           [wallet_id, row[0], key], prepare=True)
    return spend


SPENDERS = {"raw transaction": raw_transaction_spender, "wallet_spend": service_spender,
            "single-row UPDATE": floor_spender, "select_for_update": row_lock_spender}
BASELINE = "raw transaction"


# --- workers --------------------------------------------------------------------------------------------------

def _worker(name, number, user_ids, tag, start_at, seconds, results):
    try:
        from django.db import connection

        spend = SPENDERS[name]()
        connection.ensure_connection()
        spend(user_ids[0], f"{tag}:warm-up:{number}")  # connect and prepare before the clock starts
        choose = random.Random(number).choice
        wait_until(start_at)
        end, count = start_at + seconds, 0
        while time.time() < end:
            spend(choose(user_ids), f"{tag}:{number}:{count}")
            count += 1
        results.put((count, None))
    except Exception as error:  # reported by the parent, which fails the run
        results.put((0, f"{name} worker {number}: {error!r}"))


def spends_per_second(name, user_ids, *, workers, seconds, tag) -> float:
    from django.db import connections

    connections.close_all()  # never share a connection with the forked children
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    processes = [context.Process(target=_worker, args=(name, n, user_ids, tag, start_at, seconds, results))
                 for n in range(workers)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    errors = [error for _count, error in outcomes if error]
    if errors:
        raise SystemExit("bench failed:\n" + "\n".join(errors))
    return sum(count for count, _error in outcomes) / seconds


def seed_wallets(count):
    from shop.models import User
    from wallet.services import wallet_credit, wallet_open

    users = User.objects.bulk_create([User(email=f"bench{n}@example.com", password="!") for n in range(count)])
    for user in users:
        wallet_open(user=user)
        wallet_credit(user=user, points=START_BALANCE, kind="purchase", idempotency_key=f"seed:{user.pk}",
                      description="Bench balance")
    return [user.pk for user in users]


def prefill_ledger(entries: int) -> str:
    """``entries`` more ledger entries, ``PREFILL_PER_WALLET`` a wallet: on every wallet, new shoppers' too."""
    from wallet.models import Wallet

    started = time.monotonic()
    wallet_ids = list(Wallet.objects.values_list("pk", flat=True))
    wallet_ids += ledger_owners(count=max(0, entries // PREFILL_PER_WALLET - len(wallet_ids)))
    added = ledger_fill(wallet_ids, per_wallet=entries // len(wallet_ids))
    return (f"ledger pre-filled with {added:,} entries over {len(wallet_ids):,} wallets in "
            f"{time.monotonic() - started:.0f} s")


def create_floor_table():
    """(id primary key, balance) per seeded shopper, with their balance: the floor's own indexed table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id bigint PRIMARY KEY, balance bigint NOT NULL)")
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} SELECT user_id, balance FROM wallet_wallet")
        cursor.execute(f"ANALYZE {FLOOR_TABLE}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ledger-entries", type=int, default=1_000_000,
                        help="entries put in the ledger before measuring (0: the seed credits alone)")
    options = parser.parse_args()

    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB):
        from wallet.audit import wallet_audit
        from wallet.models import LedgerEntry

        user_ids = seed_wallets(SPREAD_WALLETS + 1)
        prefilled = (prefill_ledger(options.ledger_entries) if options.ledger_entries
                     else "the ledger holds the seed credits alone")
        create_floor_table()
        scenarios = {"one hot wallet": user_ids[:1], f"spread over {SPREAD_WALLETS} wallets": user_ids[1:]}
        print(f"wallet_spend benchmark: {options.workers} worker processes, {options.seconds:g}s per run, "
              f"{options.rounds} rounds, {os.cpu_count()} CPUs, PostgreSQL on 127.0.0.1; {prefilled}")
        all_ok = True
        for scenario, ids in scenarios.items():
            runs = {name: [] for name in SPENDERS}
            for round_number in range(options.rounds):
                for name in SPENDERS:  # interleaved so that drift on a shared machine hits them all alike
                    runs[name].append(spends_per_second(
                        name, ids, workers=options.workers, seconds=options.seconds,
                        tag=f"{scenario}:{name}:{round_number}"))
            print(f"{scenario}: raw transaction runs {', '.join(f'{v:.0f}' for v in runs[BASELINE])}; wallet_spend "
                  f"runs {', '.join(f'{v:.0f}' for v in runs['wallet_spend'])} spends/s")
            all_ok &= print_row("wallet_spend", runs["wallet_spend"], runs[BASELINE], "spends/s", TARGET)
            print_row("single-row UPDATE (the floor)", runs["single-row UPDATE"], runs[BASELINE], "spends/s", None)
            print_row("select_for_update variant", runs["select_for_update"], runs[BASELINE], "spends/s", None)

        report = wallet_audit()
        spends = LedgerEntry.objects.filter(kind="spend").count()
        print(f"audit: {'OK' if report.ok else 'FAILED'} over {report.entries} entries in {report.seconds:.2f}s; "
              f"{spends} spends recorded")
        for problem in report.problems[:20]:
            print("  -", problem)
        if not report.ok or not all_ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
