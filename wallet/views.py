from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from wallet.selectors import wallet_balance


@never_cache
@login_required
@require_GET
def balance_fragment(request):
    """The header badge, rendered from the database on every request."""
    return render(request, "wallet/partials/balance_badge.html", {"balance": wallet_balance(user=request.user)})
