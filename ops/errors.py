"""The URLconf's handler500: a request that failed because PostgreSQL could not be reached (restarting, failing
over) gets 503 with Retry-After instead of 500 -- a short outage, not a bug. Its transaction rolled back, so
nothing was half done, and the next request reconnects (CONN_HEALTH_CHECKS). Django calls this while handling
the exception, from wherever it was raised (a view or a middleware such as the session's), so the exception is
the one being handled. The 503 page needs no database; htmx requests get one line (shop.js shows a banner)."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return database_unavailable(request)
    return with_security_policy(request, defaults.server_error(request, template_name))


def with_security_policy(request, response: HttpResponse) -> HttpResponse:
    """The error page with the CSP header: raised in a middleware outside ContentSecurityPolicy (the access log
    reading the session's user, say), the page would never pass through it. Applied once: the middleware and
    django-csp leave a response that has the header alone."""
    from ops.middleware import ContentSecurityPolicy

    return ContentSecurityPolicy(lambda _: response).process_response(request, response)


def database_unavailable(request) -> HttpResponse:
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse("The shop is briefly unavailable; retry in a moment.", status=503,
                                content_type="text/plain")
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return with_security_policy(request, response)
