"""Rate limits on the views that create things or try passwords (settings.RATE_LIMITS), with django-ratelimit's
counters in Redis (the ``ratelimit`` cache, ``ops.cache.RateLimitCache``), shared by every web process.

A refused request gets 429 with ``Retry-After``: the whole 429 page, its ``#message`` part for htmx (shop.js
shows a banner with Retry), plain text for the Stripe webhook (Stripe retries on its own schedule).

When Redis cannot be reached (the policy README states): the views in ``RATE_LIMITS_COUNT_LOCALLY`` (log-in and
sign-up, where a limit stands between an attacker and password guessing) count in each web process's memory
until it is back; every other limit -- shoppers' cart, checkout and payments, and the Stripe webhook, which its
signature protects -- fails open, so an outage of Redis never stops anyone from paying. Both are logged.
"""

import contextlib
import logging

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django_ratelimit import UNSAFE
from django_ratelimit.core import get_usage

from ops.cache import CacheUnavailable, counting_locally_if_unreachable

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind ``RATELIMIT_TRUSTED_PROXIES`` proxies the address the
    outermost trusted one saw (the rightmost entries of X-Forwarded-For are theirs; anything to the left of
    them is whatever the client claimed)."""
    proxies = settings.RATELIMIT_TRUSTED_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def posted_username(group, request) -> str:
    """The log-in form's address as the account matches it (case-insensitively): one counter per account."""
    return request.POST.get("username", "").strip().lower()


def posted_email(group, request) -> str:
    """A form's ``email`` field, lower-cased like the accounts' unique index."""
    return request.POST.get("email", "").strip().lower()


def refusal_for(request, view_name: str) -> HttpResponse | None:
    """None when every limit of ``view_name`` allows this request (each counted), else the 429 response."""
    if not settings.RATELIMIT_ENABLE:
        return None
    wait = 0
    local = view_name in settings.RATE_LIMITS_COUNT_LOCALLY
    for key, rate in settings.RATE_LIMITS.get(view_name, ()):
        try:
            with counting_locally_if_unreachable() if local else contextlib.nullcontext():
                usage = get_usage(request, group=f"{view_name}:{key}", key=key, rate=rate, method=UNSAFE,
                                  increment=True)
        except CacheUnavailable:  # fail open: count nothing, refuse nothing
            logger.warning("rate_limit_unavailable view=%s key=%s: the counters cannot be reached, not limiting",
                           view_name, key)
            continue
        if usage and usage["should_limit"]:
            wait = max(wait, usage["time_left"], 1)
    if not wait:
        return None
    logger.warning("rate_limited view=%s ip=%s user=%s retry_after=%s", view_name, client_ip(request),
                   getattr(request.user, "pk", None), wait)
    return too_many_requests(request, retry_after=wait, plain=view_name.startswith("webhooks:"))


def too_many_requests(request, *, retry_after: int, plain: bool = False) -> HttpResponse:
    if plain:
        response = HttpResponse("Too many requests; retry later.", status=429, content_type="text/plain")
    else:
        template = "429.html#message" if getattr(request, "htmx", False) else "429.html"
        response = render(request, template, {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
