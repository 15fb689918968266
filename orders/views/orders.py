import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling, trigger_client_event

from checkout.gateway import PaymentProviderError
from checkout.services import SessionNotPayable, checkout_session_cancel, checkout_session_leave, checkout_session_pay
from checkout.services.checks import checkout_session_check_request

from orders.downloads import (
    DownloadLinkBroken,
    DownloadLinkExpired,
    DownloadSuspended,
    download_item,
    download_token,
)
from orders.delivery import download_response
from orders.cart_seen import cart_seen_read
from orders.errors import CartChanged, CartError, OtherCheckoutOpen
from orders.models import OrderStatus
from orders.selectors import order_for_shopper, orders_for_shopper
from orders.services.card import order_checkout_abandon, order_checkout_start
from orders.services.placement import order_pay_with_points
from orders.views.cart import cart_context
from wallet.services import InsufficientPoints

@never_cache
@login_required
@require_GET
def order_list(request):
    """What the shopper bought, newest first; "Older" continues after the last one shown (``before``: a keyset
    cursor). ``?attempts=1`` lists the attempts that ended unpaid instead (cancelled, failed)."""
    before = request.GET.get("before")
    attempts = request.GET.get("attempts") == "1"
    page = orders_for_shopper(user=request.user, cursor=before, abandoned=attempts)
    return render(request, "orders/list.html", {"page": page, "paged": bool(before), "attempts": attempts})


@never_cache
@login_required
@require_GET
def order_detail(request, order_id):
    order = _order_or_404(request, order_id)
    context = {"order": order, "downloads": _downloads(order, request.user)}
    if not request.htmx:
        return render(request, "orders/detail.html", context)
    return _status_part(request, order, context)


def _status_part(request, order, context=None):
    context = context or {"order": order, "downloads": _downloads(order, request.user)}
    response = render(request, "orders/detail.html#order-status", context)
    if order.is_final:
        # 286 tells htmx to stop polling; the fragment still swaps in with the final state.
        response.status_code = HttpResponseStopPolling.status_code
        # A paid card order emptied the cart on the server: every badge fetches itself again.
        for event in ("order-changed", "balance-changed", "cart-changed"):
            trigger_client_event(response, event)
    return response


@login_required
@require_POST
def pay_with_points(request):
    token = request.POST.get("checkout_token", "")
    if not _is_uuid(token):
        return _cart_refusal(request, CartError("This checkout form is out of date; please try again."))
    try:
        order = order_pay_with_points(user=request.user, idempotency_key=f"points:{request.user.pk}:{token}",
                                      seen=cart_seen_read(request.POST.get("cart_seen", "")))
    except (CartError, InsufficientPoints) as refusal:
        return _cart_refusal(request, refusal)
    if not request.htmx:
        messages.success(request, f"Order {order.short_id} is paid. Your downloads are ready.")
        return redirect("orders:detail", order_id=order.pk)
    # The cart as it is now, under the paid order: it goes on following other tabs, and keeps saying it was paid.
    response = render(request, "orders/cart.html#cart-body", cart_context(request, paid_order=order, paid_here=True))
    for event in ("balance-changed", "cart-changed", "order-changed"):
        trigger_client_event(response, event)
    return response


@login_required
@require_GET
def download(request, token):
    try:
        item = download_item(token=token, user=request.user)
    except DownloadLinkExpired:
        return render(request, "orders/download_problem.html", {"expired": True}, status=403)
    except DownloadLinkBroken:
        return render(request, "orders/download_problem.html", {"expired": False}, status=404)
    except DownloadSuspended as suspended:
        return render(request, "orders/download_problem.html", {"suspended": suspended.order}, status=403)
    # A redirect to object storage, a header for the web server in front, or a stream on one thread.
    return download_response(item)


def _downloads(order, user):
    if order.status != OrderStatus.COMPLETED or order.downloads_suspended:
        return []
    return [(item, download_token(item=item, user_id=user.pk)) for item in order.items.all()]


def _cart_refusal(request, refusal):
    """The cart again, saying why nothing was paid. A cart paid meanwhile (another tab, Stripe's page) names the
    order that paid it; an open checkout of another kind offers both ways on."""
    paid = refusal.paid_order if isinstance(refusal, CartChanged) else None
    other = refusal.open if isinstance(refusal, OtherCheckoutOpen) else None
    if not request.htmx and other is None:
        if paid is not None:
            messages.info(request, format_html('{} <a href="{}">See order {}</a>.', str(refusal),
                                               reverse("orders:detail", args=[paid.pk]), paid.short_id))
        else:
            messages.error(request, str(refusal))
        return redirect("orders:cart")
    context = cart_context(request, paid_order=paid)
    if other is not None:
        context["other_checkout"] = other  # its card says it all, with both ways on
    elif paid is None:
        context["error"] = str(refusal)
    template = "orders/cart.html#cart-body" if request.htmx else "orders/cart.html"
    response = render(request, template, context)
    if isinstance(refusal, CartChanged) and request.htmx:
        # The page was behind: its header badges (and other tabs) fetch themselves again too.
        for event in ("balance-changed", "cart-changed"):
            trigger_client_event(response, event)
    return response


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@login_required
@require_POST
def pay_by_card(request):
    """Cart -> pending order with its stock reserved -> Stripe's payment page. A double submit (same token)
    continues with the checkout the first one made."""
    token = request.POST.get("checkout_token", "")
    if not _is_uuid(token):
        return _cart_refusal(request, CartError("This checkout form is out of date; please try again."))
    try:
        session = order_checkout_start(user=request.user, idempotency_key=f"card:{request.user.pk}:{token}",
                                       seen=cart_seen_read(request.POST.get("cart_seen", "")),
                                       replacing=request.POST.get("replacing") or None)
    except CartError as refusal:
        return _cart_refusal(request, refusal)
    return to_stripe(request, session,
                     refuse=lambda request, message: _cart_refusal(request, CartError(message)))


def to_stripe(request, session, *, refuse, unchanged: str = "Your cart is unchanged."):
    """Send the shopper to Stripe's page for a card order's ``session``; ``refuse(request, message)`` answers
    when Stripe cannot open it."""
    order_url = reverse("orders:detail", args=[session.order.pk])
    try:
        # Back to the order page (it follows the payment) or, when the shopper cancels, to a page that ends the
        # order at once (its copies back on sale) and then shows the cart.
        url = checkout_session_pay(session_id=session.pk, user=request.user,
                                   success_url=request.build_absolute_uri(order_url),
                                   cancel_url=request.build_absolute_uri(
                                       reverse("orders:payment_left", args=[session.order.pk])))
    except SessionNotPayable:
        return go(request, order_url)
    except PaymentProviderError as error:
        # Nothing stays reserved for a checkout Stripe could not open: the copies go back on sale now.
        order_checkout_abandon(checkout_session_id=session.pk, user=request.user,
                               why=error.provider_message or error.user_message)
        return refuse(request, f"{error.user_message} {unchanged}")
    return go(request, url)


@never_cache
@login_required
@require_GET
def card_payment_left(request, order_id):
    """Where Stripe's "cancel" link (the session's ``cancel_url``) brings the shopper back. Stripe sends them
    with a GET, so this GET writes: the order's checkout ends now -- expired at Stripe, the order cancelled and
    its reserved copies back on sale -- and the cart is shown. Repeating it, or arriving after paying after all,
    changes nothing: the order's real state is shown instead."""
    order = _order_or_404(request, order_id)
    if order.status == OrderStatus.PENDING and order.checkout_session_id:
        checkout_session_leave(session_id=order.checkout_session_id, user=request.user)
        order = _order_or_404(request, order_id)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        messages.info(request, f"You left the card payment, so order {order.short_id} is cancelled and nothing "
                               f"was charged. Your cart is as you left it.")
        return redirect("orders:cart")
    if order.status == OrderStatus.COMPLETED:
        messages.success(request, f"Order {order.short_id} is paid. Your downloads are ready.")
    elif order.status == OrderStatus.PENDING:
        messages.info(request, f"Order {order.short_id} is still being paid; this page shows when it is done.")
    return redirect("orders:detail", order_id=order.pk)


@login_required
@require_POST
def cancel_card_order(request, order_id):
    order = _order_or_404(request, order_id)
    if order.checkout_session_id and order.status == OrderStatus.PENDING:
        checkout_session_cancel(session_id=order.checkout_session_id, user=request.user)
        messages.info(request, "The order was cancelled; the items are still in your cart.")
    return redirect("orders:detail", order_id=order.pk)


@login_required
@require_POST
def check_card_payment(request, order_id):
    """ "Check again" on a pending card order: a worker asks Stripe now instead of waiting for the webhook (queued,
    deduplicated per session); the order page, which polls, shows the check under way and then its answer."""
    order = _order_or_404(request, order_id)
    if order.checkout_session is not None:
        checkout_session_check_request(session=order.checkout_session)  # the page shows it under way
    if request.htmx:
        return _status_part(request, _order_or_404(request, order_id))
    return redirect("orders:detail", order_id=order.pk)


def _order_or_404(request, order_id):
    """The shopper's own order (another shopper's is simply not found)."""
    order = order_for_shopper(user=request.user, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return order


def go(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
