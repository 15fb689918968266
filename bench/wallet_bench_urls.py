"""The shop's URLs plus the baseline view for bench/balance_fragment.py (never part of the shop's own URLs)."""

if __name__ == "__main__":  # `make bench` runs every file in bench/; this one is a module, not a benchmark
    raise SystemExit(0)

from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from config.urls import urlpatterns as shop_urlpatterns  # noqa: E402
from wallet.models import Wallet  # noqa: E402


def bare(request):
    """The floor for a Django view behind the same gunicorn and middleware: one query, no session, no template."""
    return HttpResponse(str(Wallet.objects.values_list("balance", flat=True).first()), content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *shop_urlpatterns]


def count_queries(get_response):
    """Outermost middleware: ``X-Bench-Queries`` is every SQL statement the request ran, session and user
    look-ups included."""
    def middleware(request):
        executed = 0

        def count(execute, sql, params, many, context):
            nonlocal executed
            executed += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = get_response(request)
        response["X-Bench-Queries"] = str(executed)
        return response
    return middleware
