"""A Celery worker process SIGKILLed in the middle of the purge (acks_late, reject_on_worker_lost): the batch in
flight rolls back, the task is delivered again, the next run finishes the job, and nothing that should stay is
deleted. A real worker, on a Redis of the test's own; a trigger holds the purge inside its second batch."""

import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from checkout.models import CheckoutSession
from tests.factories import PointsPackageFactory, UserFactory
from tests.processes import REPO, wait_for
from wallet.models import PointsPurchase

STALE = 2500  # three batches of 1000
HOLD = 4242  # the advisory lock the trigger waits for


def make_sessions(*, user, package, count, status, age, replaced_by=None):
    now = timezone.now()
    sessions = [CheckoutSession(
        id=uuid.uuid4(), user=user, kind="points_package", title="Bench", amount_cents=499, currency="usd",
        status=status, created_at=now - age - timedelta(minutes=count - number),
        updated_at=now - age - timedelta(minutes=count - number), expires_at=now - age + timedelta(days=1),
        completed_at=now - age if status == "completed" else None, replaced_by=replaced_by)
        for number in range(count)]
    sessions = CheckoutSession.objects.bulk_create(sessions)
    PointsPurchase.objects.bulk_create(PointsPurchase(checkout_session=session, package=package, points=500)
                                       for session in sessions)
    return sessions


@pytest.fixture
def celery_worker(transactional_db, throwaway_redis, tmp_path):
    database = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "STRIPE_MODE": "demo",
           "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
           "CELERY_BROKER_URL": f"{throwaway_redis.url}/0", "REDIS_URL": f"{throwaway_redis.url}/1",
           "VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "INFO"}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--pool", "prefork", "--concurrency",
             "1", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: "ready" in log_path.read_text() or worker.poll() is not None, timeout=60, what="the worker")
    assert worker.poll() is None, log_path.read_text()[-3000:]
    sender = Celery(broker=f"{throwaway_redis.url}/0", set_as_current=False)  # later tests keep the shop's app
    # Explicitly: a new app would otherwise take CELERY_BROKER_URL from the environment (the shared test broker).
    sender.conf.update(broker_url=f"{throwaway_redis.url}/0", broker_write_url=f"{throwaway_redis.url}/0")
    yield worker, log_path, lambda: sender.send_task("checkout.tasks.checkout_sessions_purge")
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(20)


def test_a_worker_killed_mid_purge_loses_only_its_batch_and_the_next_run_finishes(celery_worker):
    worker, log_path, queue_purge = celery_worker
    user, package = UserFactory(), PointsPackageFactory()
    keeper_old_paid = make_sessions(user=user, package=package, count=50, status="completed", age=timedelta(days=30))
    stale = make_sessions(user=user, package=package, count=STALE, status="expired", age=timedelta(days=8))
    keeper_recent = make_sessions(user=user, package=package, count=20, status="expired", age=timedelta(days=1),
                                  replaced_by=stale[1500])
    in_second_batch = stale[1500].pk
    database = connection.settings_dict
    admin = psycopg.connect(dbname=database["NAME"], user=database["USER"], host=database["HOST"],
                            port=database["PORT"], autocommit=True)
    try:
        admin.execute(f"""CREATE FUNCTION fault_hold() RETURNS trigger AS $$
            BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD}); RETURN OLD; END $$ LANGUAGE plpgsql""")
        admin.execute(f"""CREATE TRIGGER fault_hold BEFORE DELETE ON checkout_checkoutsession FOR EACH ROW
            WHEN (OLD.id = '{in_second_batch}') EXECUTE FUNCTION fault_hold()""")
        admin.execute("SELECT pg_advisory_lock(%s)", [HOLD])

        # given the purge stopped inside its second batch (the first one committed)
        queue_purge()
        waiting = wait_for(lambda: admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory' "
            "AND pid <> pg_backend_pid()").fetchall(), timeout=30,
            what=lambda: f"the purge to reach the second batch; worker log:\n{log_path.read_text()[-3000:]}")
        orphan = waiting[0][0]
        assert CheckoutSession.objects.filter(pk__in=[session.pk for session in stale]).count() == STALE - 1000

        # when the pool process running it is SIGKILLed, and the held batch let go
        [child] = [int(pid) for pid in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]
        os.kill(child, signal.SIGKILL)
        admin.execute("CREATE OR REPLACE FUNCTION fault_hold() RETURNS trigger AS $$ BEGIN RETURN OLD; END $$ "
                      "LANGUAGE plpgsql")
        admin.execute("SELECT pg_advisory_unlock(%s)", [HOLD])
        wait_for(lambda: not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [orphan]).fetchall(),
                 timeout=30, what="the killed process's transaction to end")
        wait_for(lambda: "WorkerLostError" in log_path.read_text(), timeout=30, what="the worker to notice")

        # then the task is delivered again; with the next scheduled run the job is finished
        wait_for(lambda: log_path.read_text().count("succeeded") >= 1, timeout=30, what="the redelivered purge")
        queue_purge()
        wait_for(lambda: log_path.read_text().count("succeeded") >= 2, timeout=30, what="the next purge")
    finally:
        admin.execute("DROP TRIGGER IF EXISTS fault_hold ON checkout_checkoutsession")
        admin.execute("DROP FUNCTION IF EXISTS fault_hold()")
        admin.close()

    assert not CheckoutSession.objects.filter(pk__in=[session.pk for session in stale]).exists()
    kept = CheckoutSession.objects.filter(pk__in=[session.pk for session in keeper_old_paid + keeper_recent])
    assert kept.count() == 70
    assert PointsPurchase.objects.count() == 70  # the purged sessions' purchases went with them
    assert not kept.exclude(replaced_by=None).exists()  # links to purged sessions cleared, the sessions kept
    assert "exited with 'signal 9 (SIGKILL)'" in log_path.read_text()
