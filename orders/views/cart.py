import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from ops.header import header_figures
from orders.errors import CartError
from orders.forms import CartAddForm, first_error
from orders.selectors import cart_count, cart_summary
from orders.services.cart import cart_add, cart_remove
from wallet.selectors import wallet_balance

CART_CHANGED = "cart-changed"


@never_cache
@login_required
@require_GET
def cart_page(request):
    template = "orders/cart.html#cart-body" if request.htmx else "orders/cart.html"
    return render(request, template, cart_context(request))


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
    return render(request, "orders/partials/cart_badge.html", {"count": cart_count(user=request.user)})


def _cart_changed(request, error: str):
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("orders:cart")
    response = render(request, "orders/cart.html#cart-body", {**cart_context(request), "error": error})
    return response if error else trigger_client_event(response, CART_CHANGED)


def cart_context(request) -> dict:
    # A fresh token per rendering of each pay button: a double click submits the same token, and the order
    # service turns the second submit into a replay of the first. Each way of paying has its own, so paying by
    # card, going Back and paying with points places a second order (ending the first) instead of paying the
    # card order with points.
    figures = header_figures(request)  # GET: read with the user, as the header shows it
    return {"cart": cart_summary(user=request.user),
            "balance": figures.balance if figures else wallet_balance(user=request.user),
            "points_checkout_token": uuid.uuid4(), "card_checkout_token": uuid.uuid4()}


def _safe_back(request) -> str:
    back = request.POST.get("back", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return back
    return reverse("shop:catalog")
