from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


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
