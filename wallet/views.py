from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.cache import get_conditional_response
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops.header import header_figures
from wallet.badge import signed_in_balance_version
from wallet.selectors import wallet_balance, wallet_balance_version, wallet_history


@never_cache
@login_required
@require_GET
def home(request):
    """The wallet page; htmx asks it for one part: the next page of history ("Show older entries" sends
    ``before``), or the balance card or the newest history (each refreshing itself on ``balance-changed``)."""
    if request.htmx and "before" in request.GET:
        history = wallet_history(user=request.user, cursor=request.GET["before"])
        return render(request, "wallet/home.html#history-page", {"history": history})
    if request.htmx and request.htmx.target == "ledger":
        return render(request, "wallet/home.html#history-page", {"history": wallet_history(user=request.user)})
    figures = header_figures(request)  # read with the user: the header's badge shows the same figures
    balance = figures.balance if figures else wallet_balance(user=request.user)
    if request.htmx and request.htmx.target == "balance-card":
        return render(request, "wallet/home.html#balance-card", {"balance": balance})
    history = wallet_history(user=request.user, cursor=request.GET.get("before"))
    return render(request, "wallet/home.html", {"balance": balance, "history": history})


@never_cache
@require_GET
def balance_fragment(request):
    """The header badge, rendered from the database on every request (``no-store``: never from a cache).

    Usually one query for the user and the wallet together (wallet/badge.py); any session that needs more than
    a plain check goes through Django's authentication and ``login_required`` like every other page. The ETag
    lets a client that kept the badge ask "still this?" and get an empty 304; it comes from the same query."""
    version = signed_in_balance_version(request)
    if version is None:
        return _balance_fragment_after_login_check(request)
    return _balance_badge(request, version)


@login_required
def _balance_fragment_after_login_check(request):
    return _balance_badge(request, wallet_balance_version(user=request.user))


def _balance_badge(request, version):
    response = get_conditional_response(request, etag=version.etag)
    if response is None:
        response = render(request, "wallet/partials/balance_badge.html", {"balance": version.balance})
    response["ETag"] = version.etag
    return response
