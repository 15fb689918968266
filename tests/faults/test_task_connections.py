"""A real Celery worker keeps its PostgreSQL connection from one task to the next, as a web worker does from one
request to the next (CONN_MAX_AGE), instead of Celery's default of connecting anew for every task; and a
connection that broke is replaced at the next task, which still succeeds."""

import psycopg
import pytest
from celery import Celery
from django.db import connection

from demo_mailbox.models import DemoMail
from tests.factories import OrderFactory, ShopperFactory
from tests.faults.conftest import CeleryWorker
from tests.processes import wait_for

WORKER_APPLICATION = "shop-test-task-connections"


def worker_backends(admin) -> list[int]:
    """The worker's backends: its connections name themselves (PGAPPNAME), apart from any other of the suite's."""
    return [row[0] for row in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
        "ORDER BY pid", [WORKER_APPLICATION])]


@pytest.fixture
def worker(transactional_db, throwaway_redis, tmp_path):
    worker = CeleryWorker(tmp_path, {"CELERY_BROKER_URL": f"{throwaway_redis.url}/0",
                                     "REDIS_URL": f"{throwaway_redis.url}/1", "LOG_LEVEL": "INFO",
                                     "PGAPPNAME": WORKER_APPLICATION}, pool="prefork")
    worker.wait_until_ready()
    sender = Celery(broker=f"{throwaway_redis.url}/0", set_as_current=False)
    sender.conf.update(broker_url=f"{throwaway_redis.url}/0", broker_write_url=f"{throwaway_redis.url}/0")
    database = connection.settings_dict
    admin = psycopg.connect(dbname=database["NAME"], user=database["USER"], host=database["HOST"],
                            port=database["PORT"], autocommit=True)

    def confirm(order) -> None:
        sent = DemoMail.objects.count()
        sender.send_task("orders.tasks.send_order_confirmation", args=[str(order.pk)])
        wait_for(lambda: DemoMail.objects.count() > sent, timeout=30,
                 what=lambda: f"the confirmation of {order.pk}:\n{worker.log()}")

    yield confirm, admin
    admin.close()
    worker.stop()


def test_a_worker_runs_its_tasks_on_one_database_connection(worker):
    confirm, admin = worker
    shopper = ShopperFactory()
    orders = [OrderFactory(user=shopper, payment_method="points") for _ in range(3)]
    confirm(orders[0])
    first = worker_backends(admin)
    assert len(first) == 1  # the task's connection outlives the task
    for order in orders[1:]:
        confirm(order)
    assert worker_backends(admin) == first


def test_a_broken_connection_is_replaced_at_the_next_task(worker):
    confirm, admin = worker
    shopper = ShopperFactory()
    orders = [OrderFactory(user=shopper, payment_method="points") for _ in range(2)]
    confirm(orders[0])
    [broken] = worker_backends(admin)
    admin.execute("SELECT pg_terminate_backend(%s)", [broken])
    confirm(orders[1])  # sent all the same
    [replacement] = worker_backends(admin)
    assert replacement != broken
    assert DemoMail.objects.filter(to=shopper.email).count() == 2
