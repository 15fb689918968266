import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from ops.header import header_figures
from orders.cart_seen import cart_seen_matches, cart_seen_read, cart_seen_token
from orders.errors import CartError
from orders.forms import CartAddForm, first_error
from orders.selectors import cart_count, cart_summary, order_paid_for_seen, order_paid_for_shopper
from orders.services.cart import cart_add, cart_remove
from wallet.selectors import wallet_balance

CART_CHANGED = "cart-changed"


@never_cache
@login_required
@require_GET
def cart_page(request):
    """The cart, or its body when it fetches itself again (``cart-changed``/``balance-changed``, from this tab's
    responses or another tab's). The refresh names what the page showed (``cart_seen``) and the paid order it
    announced (``paid``), so a cart paid meanwhile says so rather than only showing itself empty."""
    template = "orders/cart.html#cart-body" if request.htmx else "orders/cart.html"
    paid = order_paid_for_shopper(user=request.user, order_id=_uuid_or_none(request.GET.get("paid", "")))
    seen = None if paid else cart_seen_read(request.GET.get("cart_seen", ""))
    return render(request, template, cart_context(request, paid_order=paid, seen=seen))


@login_required
@require_POST
def cart_add_view(request):
    form = CartAddForm(request.POST)
    error = first_error(form) if not form.is_valid() else ""
    if not error:
        try:
            cart_add(user=request.user, **form.cleaned_data)
        except CartError as refusal:
            error = str(refusal)
    if request.htmx:
        response = render(request, "orders/partials/add_to_cart_result.html", {"error": error})
        return response if error else trigger_client_event(response, CART_CHANGED)
    if error:
        messages.error(request, error)
        return redirect(_safe_back(request))
    messages.success(request, "Added to your cart.")
    return redirect("orders:cart")


@login_required
@require_POST
def cart_remove_view(request, product_id):
    cart_remove(user=request.user, product_id=product_id)
    return _cart_changed(request, "")


@never_cache
@login_required
@require_GET
def cart_badge(request):
    """The header's cart badge. Its ETag (the count it shows) lets a tab that already shows that count get an
    empty 304, so the badge -- in a live region -- is not written, and spoken, again when nothing changed."""
    count = cart_count(user=request.user)
    etag = f'"cart-{count}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = render(request, "orders/partials/cart_badge.html", {"count": count})
    response["ETag"] = etag
    return response


def _cart_changed(request, error: str):
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("orders:cart")
    response = render(request, "orders/cart.html#cart-body", {**cart_context(request), "error": error})
    return response if error else trigger_client_event(response, CART_CHANGED)


def cart_context(request, *, paid_order=None, paid_here: bool = False, seen=None) -> dict:
    # A fresh token per rendering of each pay button: a double click submits the same token, and the order
    # service turns the second submit into a replay of the first. Each way of paying has its own, so paying by
    # card, going Back and paying with points places a second order (ending the first) instead of paying the
    # card order with points. ``cart_seen``: what this rendering shows, so a pay from it after the cart was paid
    # or changed elsewhere is answered with what happened; ``seen``, what the page being refreshed showed.
    figures = header_figures(request)  # GET: read with the user, as the header shows it
    cart = cart_summary(user=request.user)
    if seen is not None and not cart_seen_matches(seen, items=[line.item for line in cart.lines]):
        paid_order = order_paid_for_seen(user=request.user, seen=seen)  # what this page showed was paid?
    balance = figures.balance if figures else wallet_balance(user=request.user)
    return {"cart": cart, "balance": balance, "points_after": balance.current - cart.total_points,
            "points_checkout_token": uuid.uuid4(), "card_checkout_token": uuid.uuid4(),
            "cart_seen": cart_seen_token(cart, now=timezone.now()), "paid_order": paid_order, "paid_here": paid_here}


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _safe_back(request) -> str:
    back = request.POST.get("back", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return back
    return reverse("shop:catalog")
