import json
import logging
import time
from urllib.parse import urlencode, urlsplit

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from ops.logs import request_id_from, request_id_var
from ops.ratelimits import refusal_for


def htmx_login_redirect(get_response):
    """An htmx request whose login expired would otherwise swap the whole log-in page into a fragment (a badge,
    a cart). Turn the redirect into ``HX-Redirect`` so the browser goes to log in, and back to the page the
    shopper was on (not to the fragment's URL) afterwards."""
    login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path

    def middleware(request):
        response = get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 302:
            return response
        if urlsplit(response.url).path != login_path:
            return response
        back_to = urlsplit(request.htmx.current_url or "").path or "/"
        return HttpResponseClientRedirect(f"{login_path}?{urlencode({'next': back_to})}")

    return middleware


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's middleware, with one relaxation: pages under the admin may use style attributes (Django's
    admin templates and our admin list columns set a few). Scripts stay 'self' everywhere."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and parts.update is None and request.path_info.startswith(_admin_prefix()):
            parts.update = {"style-src": [SELF, UNSAFE_INLINE]}
        return parts


def _admin_prefix() -> str:
    return reverse("admin:index")


def rate_limits(get_response):
    """Applies settings.RATE_LIMITS to the POSTs (and other unsafe methods) of the views it names, after CSRF
    and authentication have run (so a forged request is refused as such, and a signed-in shopper is counted as
    themselves rather than by address)."""

    def middleware(request):
        return get_response(request)

    def process_view(request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name not in settings.RATE_LIMITS:
            return None
        return refusal_for(request, match.view_name)

    middleware.process_view = process_view
    return middleware


STAFF_LOGGED_FIELDS = ("action", "reason", "points", "amount")
staff_logger = logging.getLogger("ops.staff")


def staff_actions_log(get_response):
    """One log line per state-changing admin request by staff: who, what (the path and the admin action), on
    which rows, why (the form's reason) and the outcome. The services record adjustments and refunds in the
    database too (ledger entries and status history name the staff member); this line also covers what has no
    row of its own, such as re-processing webhooks or reconciling sessions. Only whitelisted form fields are
    logged: never passwords or other form data."""

    def middleware(request):
        response = get_response(request)
        if request.method == "POST" and request.path_info.startswith(_admin_prefix()):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                fields = {name: request.POST.get(name) for name in STAFF_LOGGED_FIELDS if request.POST.get(name)}
                selected = request.POST.getlist("_selected_action")
                staff_logger.info(
                    "staff_action staff=%s staff_id=%s path=%s status=%s selected=%s %s", user.get_username(),
                    user.pk, request.path_info, response.status_code, ",".join(selected) or "-",
                    " ".join(f"{name}={json.dumps(value)}" for name, value in fields.items()))
        return response

    return middleware


request_logger = logging.getLogger("ops.requests")


def request_id(get_response):
    """Outermost middleware: the request's id (the client's or load balancer's ``X-Request-ID`` when it looks
    like one, else a new one) goes into every log line of the request (ops.logs) and back in the response's
    ``X-Request-ID``; one access line per request with its status, duration and user."""

    def middleware(request):
        request.request_id = request_id_from(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request.request_id)
        started = time.monotonic()
        try:
            response = get_response(request)
            response["X-Request-ID"] = request.request_id
            user = getattr(request, "user", None)
            request_logger.info(
                "request method=%s path=%s status=%s duration_ms=%d user_id=%s", request.method,
                json.dumps(request.path) if " " in request.path else request.path, response.status_code,
                (time.monotonic() - started) * 1000,
                user.pk if user is not None and getattr(user, "is_authenticated", False) else "-")
            return response
        finally:
            request_id_var.reset(token)

    return middleware

