"""bench/load.py's URLconf: the shop's URLs plus the baseline, a bare GET view with one ORM query, served
through the same middleware by the same gunicorn."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from wallet.models import PointsPackage


@require_GET
def bare(request):
    """One ORM query for one row, and a plain answer: what any database-backed Django view does at least."""
    points = PointsPackage.objects.filter(is_active=True).values_list("points", flat=True).first()
    return HttpResponse(f"ok {points}", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("config.urls")),
]

handler500 = "ops.errors.server_error"
