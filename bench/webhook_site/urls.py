"""bench/webhooks.py's URLconf: the shop's own URLs (its Stripe webhook endpoint among them) plus the baseline --
a bare POST view with one ORM query, through the same middleware, in the same gunicorn."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from wallet.models import PointsPackage


@csrf_exempt
@require_POST
def bare(request):
    """One ORM query for one row, and a plain answer: what any database-backed Django view does at least."""
    points = PointsPackage.objects.filter(is_active=True).values_list("points", flat=True).first()
    return HttpResponse(f"ok {points}", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("config.urls")),
]
