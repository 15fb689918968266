"""Checks every ledger invariant for every wallet in two set-based queries (one pass over the ledger, sorted once)
instead of a loop per wallet, so a million entries take seconds. Used by ``manage.py audit_wallets``."""

import time
from dataclasses import dataclass, field

from django.db import connection, transaction

from wallet.models import RESTORES_PURCHASE, LedgerEntry, Wallet

_LEDGER = LedgerEntry._meta.db_table
_WALLET = Wallet._meta.db_table
_USER = Wallet._meta.get_field("user").related_model._meta.db_table


def _sql_list(kinds) -> str:
    return ", ".join(f"'{kind}'" for kind in sorted(kinds))  # fixed choices, never user input


# Entries are ordered by id within a wallet: ids are drawn while the writer holds the wallet's row lock, so id
# order is the order in which balances moved.
_WALLET_CHECK = f"""
WITH running AS (
    SELECT wallet_id, id, amount, kind, balance_after,
           SUM(amount) OVER (PARTITION BY wallet_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS running
      FROM {_LEDGER}
), per_wallet AS (
    SELECT wallet_id,
           COUNT(*) AS entries,
           CAST(SUM(amount) AS BIGINT) AS balance,
           CAST(COALESCE(SUM(amount) FILTER (WHERE kind IN ({_sql_list(LedgerEntry.LIFETIME_KINDS)})), 0)
                AS BIGINT) AS lifetime,
           CAST(COALESCE(-SUM(amount) FILTER (WHERE kind IN ({_sql_list(LedgerEntry.SPENT_KINDS)})), 0)
                AS BIGINT) AS spent,
           COUNT(*) FILTER (WHERE balance_after <> running) AS wrong_balance_after,
           MIN(id) FILTER (WHERE balance_after <> running) AS first_wrong_entry,
           COUNT(*) FILTER (WHERE running < 0) AS negative_running
      FROM running
     GROUP BY wallet_id
)
SELECT w.id, u.email, w.balance, w.lifetime, w.spent,
       COALESCE(p.balance, 0), COALESCE(p.lifetime, 0), COALESCE(p.spent, 0),
       COALESCE(p.wrong_balance_after, 0), p.first_wrong_entry, COALESCE(p.negative_running, 0),
       (SELECT COUNT(*) FROM {_WALLET}), (SELECT COUNT(*) FROM {_LEDGER})
  FROM {_WALLET} w
  JOIN {_USER} u ON u.id = w.user_id
  LEFT JOIN per_wallet p ON p.wallet_id = w.id
 WHERE w.balance <> COALESCE(p.balance, 0) OR w.lifetime <> COALESCE(p.lifetime, 0)
    OR w.spent <> COALESCE(p.spent, 0) OR w.balance < 0
    OR COALESCE(p.wrong_balance_after, 0) > 0 OR COALESCE(p.negative_running, 0) > 0
 ORDER BY w.id
"""

_TOTALS = f"SELECT (SELECT COUNT(*) FROM {_WALLET}), (SELECT COUNT(*) FROM {_LEDGER})"

# Entries on a wallet that does not exist, and reversals that took back more than their purchase (or reversed
# something other than a purchase, or on another wallet). Points given back to a purchase (``wallet_restore``: its
# refund failed) may be reversed again, so they are subtracted from what its reversals took.
_ORPHANS = f"""
SELECT e.wallet_id, COUNT(*) FROM {_LEDGER} e LEFT JOIN {_WALLET} w ON w.id = e.wallet_id
 WHERE w.id IS NULL GROUP BY e.wallet_id
"""
_RESTORED = f"""COALESCE((SELECT SUM(a.amount) FROM {_LEDGER} a
  WHERE a.wallet_id = p.wallet_id AND a.kind = 'adjustment'
    AND CAST(a.metadata->>'{RESTORES_PURCHASE}' AS BIGINT) = p.id), 0)"""
_REVERSALS = f"""
SELECT p.id, p.wallet_id, p.kind, p.amount, CAST(-SUM(r.amount) - {_RESTORED} AS BIGINT),
       COUNT(*) FILTER (WHERE r.wallet_id <> p.wallet_id)
  FROM {_LEDGER} r JOIN {_LEDGER} p ON p.id = r.reverses_id
 GROUP BY p.id, p.wallet_id, p.kind, p.amount
HAVING p.kind <> 'purchase' OR -SUM(r.amount) - {_RESTORED} > p.amount
    OR COUNT(*) FILTER (WHERE r.wallet_id <> p.wallet_id) > 0
"""


@dataclass
class AuditReport:
    wallets: int = 0
    entries: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _wallet_problems(row) -> list[str]:
    (wallet_id, email, balance, lifetime, spent, sum_balance, sum_lifetime, sum_spent,
     wrong_after, first_wrong, negative_running) = row[:11]
    label = f"wallet {wallet_id} ({email})"
    problems = []
    if balance < 0:
        problems.append(f"{label}: balance is negative ({balance})")
    for name, cached, summed in (("balance", balance, sum_balance), ("lifetime", lifetime, sum_lifetime),
                                 ("spent", spent, sum_spent)):
        if cached != summed:
            problems.append(f"{label}: {name} is {cached} but its entries add up to {summed} ({summed - cached:+d})")
    if wrong_after:
        problems.append(f"{label}: {wrong_after} entries have a balance_after that is not the running sum "
                        f"(first: entry {first_wrong})")
    if negative_running:
        problems.append(f"{label}: the running balance goes below zero at {negative_running} entries")
    return problems


def wallet_audit() -> AuditReport:
    """Every invariant for every wallet, from one consistent snapshot of the database."""
    started = time.perf_counter()
    report = AuditReport()
    # Our own transaction (not a caller's) can be a read-only snapshot: the wallet rows and the entries are then
    # read as of one instant even while spends commit, so a busy shop never shows false alarms.
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                if own_transaction:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # Sort and aggregate a million entries in memory rather than in temporary files.
                cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(_WALLET_CHECK)
            rows = cursor.fetchall()
            for row in rows:
                report.problems.extend(_wallet_problems(row))
            if rows:
                report.wallets, report.entries = rows[0][11], rows[0][12]
            else:
                cursor.execute(_TOTALS)
                report.wallets, report.entries = cursor.fetchone()
            cursor.execute(_ORPHANS)
            for wallet_id, count in cursor.fetchall():
                report.problems.append(f"{count} entries belong to wallet {wallet_id}, which does not exist")
            cursor.execute(_REVERSALS)
            for purchase_id, wallet_id, kind, amount, reversed_total, other_wallet in cursor.fetchall():
                report.problems.append(
                    f"entry {purchase_id} on wallet {wallet_id} ({kind} of {amount}) is reversed by {reversed_total}"
                    + (f", {other_wallet} reversals on another wallet" if other_wallet else ""))
    report.seconds = time.perf_counter() - started
    return report

