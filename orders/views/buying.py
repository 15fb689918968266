""""Buy now" on a product page: one copy, straight to payment, through the same order services as the cart
(points: ``order_pay_with_points``; card: ``order_checkout_start`` and Stripe's page). The cart is not used."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from orders.errors import CartError
from orders.forms import BuyNowForm, first_error
from orders.models import PaymentMethod
from orders.services.card import order_checkout_start
from orders.services.placement import order_pay_with_points
from orders.views.orders import go, to_stripe
from shop.models import Product
from wallet.services import InsufficientPoints


@require_POST
def buy_now(request):
    form = BuyNowForm(request.POST)
    product = _product(request.POST.get("product_id"))
    back = product.get_absolute_url() if product is not None else "/"
    if not request.user.is_authenticated:
        # Signed out: log in (or sign up) and come back to the product, where "Buy now" is one click again
        # (an htmx request gets this as HX-Redirect from ``ops.middleware.htmx_login_redirect``).
        return redirect_to_login(back)
    if not form.is_valid():
        return _refuse(request, back, first_error(form) if "checkout_token" not in form.errors
                       else "This form is out of date; please try again.")
    data = form.cleaned_data
    key = f"buy:{data['method']}:{request.user.pk}:{data['checkout_token']}"
    if data["method"] == PaymentMethod.POINTS:
        try:
            order = order_pay_with_points(user=request.user, idempotency_key=key, product_id=data["product_id"])
        except (CartError, InsufficientPoints) as refusal:
            return _refuse(request, back, str(refusal))
        messages.success(request, f"Order {order.short_id} is paid with points. Your download is ready.")
        return go(request, reverse("orders:detail", args=[order.pk]))
    try:
        session = order_checkout_start(user=request.user, idempotency_key=key, product_id=data["product_id"])
    except CartError as refusal:
        return _refuse(request, back, str(refusal))
    return to_stripe(request, session, refuse=lambda request, message: _refuse(request, back, message),
                     unchanged="Nothing was charged.")


def _product(value) -> Product | None:
    try:
        product_id = int(value)
    except (TypeError, ValueError):
        return None
    return Product.objects.filter(pk=product_id).first() if 0 < product_id < 2**63 else None


def _refuse(request, back: str, message: str):
    if request.htmx:
        return render(request, "orders/partials/buy_now_result.html", {"error": message})
    messages.error(request, message)
    return redirect(back)
