from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orders.selectors import library_for_shopper


@never_cache
@login_required
@require_GET
def library_page(request):
    """"Your downloads": every product the shopper owns, newest purchase first, with fresh signed links; "Older"
    continues after the last one shown (``before``: a keyset cursor)."""
    before = request.GET.get("before")
    page = library_for_shopper(user=request.user, cursor=before)
    return render(request, "orders/library.html", {"page": page, "paged": bool(before)})
