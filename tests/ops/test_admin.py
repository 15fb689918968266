from django.urls import reverse
from django.utils import timezone

from ops.models import Heartbeat


def test_staff_see_heartbeats_under_operations_and_cannot_change_them(staff_client):
    Heartbeat.objects.create(name="celery", seen_at=timezone.now())

    section = staff_client.get(reverse("admin:app_list", args=["ops"]))
    listing = staff_client.get(reverse("admin:ops_heartbeat_changelist"))

    assert section.status_code == 200 and b"Heartbeats" in section.content
    assert listing.status_code == 200 and b"celery" in listing.content
    assert staff_client.get(reverse("admin:ops_heartbeat_add")).status_code == 403
