"""Sessions in PostgreSQL (shop.sessions): each records its user, and beat deletes the expired ones."""

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from shop.models import Session
from shop.tasks import sessions_clear_expired


def test_a_signed_in_session_records_its_user_and_expired_ones_are_deleted_daily(client, shopper, password):
    assert client.post("/accounts/login/", {"username": shopper.email, "password": password}).status_code == 302
    [signed_in] = Session.objects.all()
    assert signed_in.user_id == shopper.pk
    anonymous = Session.objects.create(session_key="x" * 32, session_data="", user=None,
                                       expire_date=timezone.now() - timedelta(seconds=1))

    sessions_clear_expired()

    assert list(Session.objects.values_list("pk", flat=True)) == [signed_in.pk]
    assert not Session.objects.filter(pk=anonymous.pk).exists()
    task = PeriodicTask.objects.get(task="shop.tasks.sessions_clear_expired")
    assert (task.interval.every, task.interval.period) == (1, "days")
