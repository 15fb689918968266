"""Many shoppers' requests at once against one wallet, on real PostgreSQL connections (one per thread)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from tests.factories import UserFactory
from tests.wallet.helpers import assert_audit_passes, credit, figures
from wallet.models import LedgerEntry
from wallet.services import InsufficientPoints, wallet_credit, wallet_spend

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 40


def run_at_once(jobs):
    """Run every job in its own thread, released together by a barrier; return their results or exceptions."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=30)
            return job()
        except Exception as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def spend_job(user, points, key):
    return lambda: wallet_spend(user=user, points=points, idempotency_key=key, description="Concurrent spend")


def test_concurrent_spends_never_overdraw_and_every_success_is_one_entry():
    shopper = UserFactory()
    credit(shopper, 250)

    results = run_at_once([spend_job(shopper, 10, f"spend:{n}") for n in range(THREADS)])

    successes = [result for result in results if isinstance(result, LedgerEntry)]
    refusals = [result for result in results if isinstance(result, InsufficientPoints)]
    assert len(successes) == 25 and len(refusals) == THREADS - 25
    assert figures(shopper) == (0, 250, 250)
    assert LedgerEntry.objects.filter(kind="spend").count() == len(successes)
    assert sorted(entry.balance_after for entry in successes) == list(range(0, 250, 10))
    by_time = list(LedgerEntry.objects.order_by("created_at", "id").values_list("balance_after", flat=True))
    assert by_time == [250, *range(240, -1, -10)]  # the history's order is the order the balance moved in
    assert_audit_passes()


def test_one_key_sent_by_many_threads_at_once_credits_once():
    shopper = UserFactory()

    results = run_at_once([
        lambda: wallet_credit(user=shopper, points=500, kind="purchase", idempotency_key="evt_same",
                              description="Webhook delivered many times") for _ in range(THREADS)])

    assert all(isinstance(result, LedgerEntry) for result in results), results
    assert len({result.pk for result in results}) == 1
    assert figures(shopper) == (500, 500, 0)
    assert LedgerEntry.objects.count() == 1


def test_credits_and_spends_interleaved_keep_every_invariant():
    shopper = UserFactory()
    credit(shopper, 100)
    jobs = []
    for n in range(THREADS):
        if n % 2:
            jobs.append(spend_job(shopper, 13, f"spend:{n}"))
        else:
            jobs.append(lambda n=n: credit(shopper, 7, key=f"credit:{n}"))

    results = run_at_once(jobs)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientPoints)]
    assert not unexpected
    spent = sum(-entry.amount for entry in results if isinstance(entry, LedgerEntry) and entry.amount < 0)
    assert figures(shopper) == (100 + 20 * 7 - spent, 100 + 20 * 7, spent)
    assert_audit_passes()


def test_spends_whose_enclosing_transaction_fails_leave_nothing_behind():
    shopper = UserFactory()
    credit(shopper, 1000)

    def order(n):
        def job():
            with transaction.atomic():
                entry = wallet_spend(user=shopper, points=10, idempotency_key=f"order:{n}:pay",
                                     description=f"Order {n}")
                if n % 2:
                    raise RuntimeError("the order could not be completed")
                return entry
        return job

    results = run_at_once([order(n) for n in range(THREADS)])

    assert sum(isinstance(result, RuntimeError) for result in results) == THREADS // 2
    assert figures(shopper) == (1000 - 10 * THREADS // 2, 1000, 10 * THREADS // 2)
    assert set(LedgerEntry.objects.filter(kind="spend").values_list("idempotency_key", flat=True)) == {
        f"order:{n}:pay" for n in range(0, THREADS, 2)}
    assert_audit_passes()
