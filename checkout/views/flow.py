"""The points checkout: choose a package -> review -> pay (Stripe) -> result. Every page about a session
validates it first and continues wherever ``checkout_session_recover`` says (never a dead end)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect, trigger_client_event

from checkout.forms import StartCheckoutForm
from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession
from checkout.selectors import (
    checkout_packages,
    checkout_session_active,
    checkout_session_changes,
    checkout_session_for_user,
)
from checkout.services import (
    Outcome,
    SessionNotPayable,
    checkout_session_pay,
    checkout_session_reconcile,
    checkout_session_recover,
    checkout_session_start,
)
from shop.models import PointsPackage
from wallet.selectors import wallet_balance

RECOVERY_NOTICES = {
    "moved": "You changed your checkout in another tab or window; this is the current one.",
    "recovered": "Your previous checkout had expired, so we started a fresh one with the same package and price.",
}


@never_cache
@login_required
@require_GET
def choose(request):
    active = checkout_session_active(user=request.user)
    selected = request.GET.get("package", "")
    selected_id = int(selected) if selected.isascii() and selected.isdigit() else (
        active.package_id if active else None)
    return render(request, "checkout/choose.html", {
        "packages": checkout_packages(), "active": active, "selected_id": selected_id, "session": active, "step": 1,
    })


@login_required
@require_http_methods(["GET", "POST"])
def start(request):
    if request.method == "GET":  # e.g. back from the log-in page: nothing to start without a choice
        return redirect("checkout:choose")
    form = StartCheckoutForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("package", ["Please choose a package."]):
            messages.error(request, error)
        return redirect("checkout:choose")
    result = checkout_session_start(user=request.user, package=form.cleaned_data["package"])
    if result.replaced is not None:
        messages.info(request, f"Your checkout is now for {result.session.title}.")
    return redirect("checkout:review", session_id=result.session.pk)


@never_cache
@login_required
@require_GET
def review(request, session_id):
    recovery = _recover_or_404(request, session_id)
    session = recovery.session
    if session.kind == CheckoutSession.Kind.CART:
        return _to_order(session)
    if recovery.outcome == "changed":
        return redirect("checkout:changed", session_id=session.pk)
    if recovery.outcome == "completed" or session.stripe_status == "complete":
        return redirect("checkout:result", session_id=session.pk)
    if session.pk != session_id:
        messages.info(request, RECOVERY_NOTICES[recovery.outcome])
        return redirect("checkout:review", session_id=session.pk)
    return _render_review(request, session)


@login_required
@require_POST
def pay(request, session_id):
    base_url = request.build_absolute_uri("/").rstrip("/")
    try:
        url = checkout_session_pay(session_id=session_id, user=request.user, base_url=base_url)
    except CheckoutSession.DoesNotExist:
        raise Http404("No such checkout.") from None
    except SessionNotPayable:
        return _redirect(request, "checkout:review", session_id)
    except PaymentProviderError as error:
        session = checkout_session_for_user(user=request.user, session_id=session_id)
        return _render_review(request, session, error=error.user_message, status=503)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@never_cache
@login_required
@require_GET
def result(request, session_id):
    session = _session_or_404(request, session_id)
    if session.kind == CheckoutSession.Kind.CART:
        return _to_order(session)
    if request.htmx and request.htmx.target == "checkout-balance":
        # The paid page's balance figure, fetching itself again on balance-changed (and never announcing one).
        return render(request, "checkout/result.html#balance", {
            "session": session, "balance": wallet_balance(user=request.user)})
    return _render_result(request, session)


@login_required
@require_POST
def check(request, session_id):
    """ "Check again": ask Stripe now instead of waiting for the webhook."""
    session = _session_or_404(request, session_id)
    outcome, error = None, None
    try:
        outcome = checkout_session_reconcile(session=session)
    except PaymentProviderError as failure:
        error = failure.user_message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("checkout:result", session_id=session.pk)
    session.refresh_from_db()
    response = _render_result(request, session, error=error)
    if outcome == Outcome.CREDITED:
        trigger_client_event(response, "balance-changed")
    return response


@never_cache
@login_required
@require_GET
def changed(request, session_id):
    session = _session_or_404(request, session_id)
    if session.kind == CheckoutSession.Kind.CART:
        return _to_order(session)
    package = PointsPackage.objects.active().filter(pk=session.package_id).first()
    changes = checkout_session_changes(session=session, package=package)
    if session.status in (CheckoutSession.Status.ACTIVE, CheckoutSession.Status.COMPLETED) or (
            package is not None and not changes):
        return redirect("checkout:review", session_id=session.pk)
    return render(request, "checkout/changed.html", {
        "session": session, "package": package, "changes": changes, "packages": checkout_packages(), "step": 2,
    })


def _render_review(request, session, *, error: str = "", status: int = 200):
    return render(request, "checkout/review.html", {
        "session": session, "step": 2, "error": error, "cancelled": request.GET.get("cancelled") == "1",
    }, status=status)


def _render_result(request, session, *, error: str | None = None):
    state = _result_state(session)
    context = {"session": session, "state": state, "step": 4, "error": error,
               "balance": wallet_balance(user=request.user) if state == "completed" else None}
    if not request.htmx:
        return render(request, "checkout/result.html", context)
    response = render(request, "checkout/result.html#status", context)
    if state in ("completed", "ended"):
        response.status_code = HTMX_STOP_POLLING
        if state == "completed":
            trigger_client_event(response, "balance-changed")
    return response


def _result_state(session: CheckoutSession) -> str:
    if session.status == CheckoutSession.Status.COMPLETED:
        return "completed"
    if session.stripe_status == "complete" and session.awaiting_stripe:
        return "processing"  # a bank debit on its way
    if session.status != CheckoutSession.Status.ACTIVE:
        return "ended"
    if session.awaiting_stripe:
        return "pending"
    return "unpaid"


def _recover_or_404(request, session_id):
    try:
        return checkout_session_recover(session_id=session_id, user=request.user)
    except CheckoutSession.DoesNotExist:
        raise Http404("No such checkout.") from None


def _session_or_404(request, session_id) -> CheckoutSession:
    session = checkout_session_for_user(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such checkout.")
    return session


def _to_order(session: CheckoutSession):
    """A card order's checkout is followed on its order page; one whose order is gone goes back to the cart."""
    order_id = CheckoutSession.objects.filter(pk=session.pk).values_list("order", flat=True).first()
    return redirect("orders:detail", order_id=order_id) if order_id else redirect("orders:cart")


def _redirect(request, name: str, session_id):
    if request.htmx:
        return HttpResponseClientRedirect(reverse(name, kwargs={"session_id": session_id}))
    return redirect(name, session_id=session_id)
