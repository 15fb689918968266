"""Buying points: choose a package -> review -> pay (Stripe) -> result. Every page about a checkout session
validates it first and continues wherever ``points_purchase_whereabouts`` says (never a dead end). Only POSTs
write: an expired session is recovered when the shopper pays, not when they look."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect, trigger_client_event

from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession
from checkout.selectors import PaymentState, checkout_session_open_other, checkout_session_payment_state
from checkout.services import ReplaceNotConfirmed, SessionNotPayable, checkout_session_pay
from checkout.services.checks import checkout_session_check_request
from ops.header import header_shows_balance
from wallet.forms import PackageChoiceForm
from wallet.models import POINTS_PACKAGE
from wallet.selectors import (
    RecoveryOutcome,
    points_packages,
    points_packages_valued,
    points_purchase_active,
    points_purchase_changes,
    points_purchase_session,
    points_purchase_whereabouts,
    wallet_balance,
)
from wallet.services import points_purchase_recover, points_purchase_start

PAY_ATTEMPTS = 2
MOVED_NOTICE = "You changed your checkout in another tab or window; this is the current one."


@never_cache
@login_required
@require_GET
def choose(request):
    """The packages, with the one the shopper picked (``?package=``, e.g. kept through the log-in page) ready to
    buy. An open card payment for a cart is named with both ways on: continue it, or choose a package instead
    (the forms then name it as the checkout to replace)."""
    active = points_purchase_active(user=request.user)
    packages = points_packages_valued()
    selected = request.GET.get("package", "")
    chosen = next((package for package in packages if selected.isascii() and selected.isdigit()
                   and package.pk == int(selected)), None)
    selected_id = chosen.pk if chosen else (active.points_purchase.package_id if active else None)
    return render(request, "wallet/purchase/choose.html", {
        "packages": packages, "active": active, "selected_id": selected_id, "chosen": chosen, "session": active,
        "step": 1, "other_checkout": checkout_session_open_other(user=request.user, kind=POINTS_PACKAGE),
    })


@login_required
@require_http_methods(["GET", "POST"])
def start(request):
    if request.method == "GET":  # e.g. back from the log-in page: nothing to start without a choice
        return redirect("points:choose")
    form = PackageChoiceForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("package", ["Please choose a package."]):
            messages.error(request, error)
        return redirect("points:choose")
    package = form.cleaned_data["package"]
    try:
        result = points_purchase_start(user=request.user, package=package, confirm_other_kind=True,
                                       replacing=request.POST.get("replacing") or None)
    except ReplaceNotConfirmed:
        # Say which checkout is open and let the shopper pick: the choose page offers both ways on.
        return redirect(f"{reverse('points:choose')}?package={package.pk}")
    if result.replaced is not None:
        messages.info(request, f"Your checkout is now for {result.session.title}.")
    return redirect("points:review", session_id=result.session.pk)


@never_cache
@login_required
@require_GET
def review(request, session_id):
    found = points_purchase_whereabouts(session=_session_or_404(request, session_id))
    session = found.session
    if found.outcome == RecoveryOutcome.CHANGED:
        return redirect("points:changed", session_id=session.pk)
    paid_or_on_its_way = (PaymentState.COMPLETED, PaymentState.PROCESSING)
    if found.outcome == RecoveryOutcome.COMPLETED or checkout_session_payment_state(session) in paid_or_on_its_way:
        return redirect("points:result", session_id=session.pk)
    if found.outcome == RecoveryOutcome.MOVED:
        messages.info(request, MOVED_NOTICE)
        return redirect("points:review", session_id=session.pk)
    return _render_review(request, session, renewable=found.outcome == RecoveryOutcome.RENEWABLE)


@login_required
@require_POST
def pay(request, session_id):
    """Pay for the session, recovering it first when it ended unpaid (a fresh copy of the same offer). One that
    cannot be paid as it is (too little time left for a Stripe session) is recovered and paid in one go. A fresh
    copy never ends an open card payment unless the form names it (``replacing``): the review page asks first."""
    session = asked = _session_or_404(request, session_id)
    for _attempt in range(PAY_ATTEMPTS):
        try:
            recovery = points_purchase_recover(session_id=session.pk, user=request.user,
                                               replacing=request.POST.get("replacing") or None)
        except ReplaceNotConfirmed:
            # A card payment opened since this checkout ended: its review page names it and offers both ways on.
            return _redirect(request, "points:review", session.pk)
        session = recovery.session
        # A double click after a recovery finds the fresh copy through the link: the same offer, so it is paid.
        same_offer = recovery.outcome == RecoveryOutcome.MOVED and _offers(session) == _offers(asked)
        if recovery.outcome not in (RecoveryOutcome.CURRENT, RecoveryOutcome.RECOVERED) and not same_offer:
            if recovery.outcome == RecoveryOutcome.MOVED:
                messages.info(request, MOVED_NOTICE)
            return _redirect(request, "points:review", session.pk)  # its page says where to go from here
        try:
            url = checkout_session_pay(
                session_id=session.pk, user=request.user,
                success_url=request.build_absolute_uri(reverse("points:result", args=[session.pk])),
                cancel_url=request.build_absolute_uri(reverse("points:review", args=[session.pk])) + "?cancelled=1")
        except SessionNotPayable:
            continue
        except PaymentProviderError as error:
            return _render_review(request, _session_or_404(request, session.pk), error=error.user_message,
                                  status=503)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _redirect(request, "points:review", session.pk)


@never_cache
@login_required
@require_GET
def result(request, session_id):
    session = _session_or_404(request, session_id)
    if request.htmx and request.htmx.target == "checkout-balance":
        # The paid page's balance figure, fetching itself again on balance-changed (and never announcing one).
        return render(request, "wallet/purchase/result.html#balance", {
            "session": session, "balance": wallet_balance(user=request.user)})
    return _render_result(request, session)


@login_required
@require_POST
def check(request, session_id):
    """ "Check again": a worker asks Stripe now instead of waiting for the webhook (queued, deduplicated per
    session); the result part shows the check under way and polls for its answer."""
    session = _session_or_404(request, session_id)
    checkout_session_check_request(session=session)  # the page shows what it did: queued, or the last answer
    if not request.htmx:
        return redirect("points:result", session_id=session.pk)
    return _render_result(request, _session_or_404(request, session.pk))


@never_cache
@login_required
@require_GET
def changed(request, session_id):
    found = points_purchase_whereabouts(session=_session_or_404(request, session_id))
    if found.outcome != RecoveryOutcome.CHANGED:
        return redirect("points:review", session_id=found.session.pk)
    return render(request, "wallet/purchase/changed.html", {
        "session": found.session, "package": found.package, "packages": points_packages(), "step": 2,
        "changes": points_purchase_changes(session=found.session, package=found.package),
    })


def _render_review(request, session, *, error: str = "", renewable: bool = False, status: int = 200):
    # Paying for an ended checkout starts a fresh one, which would end a card payment opened since: say so.
    other = checkout_session_open_other(user=request.user, kind=POINTS_PACKAGE) if renewable else None
    return render(request, "wallet/purchase/review.html", {
        "session": session, "step": 2, "error": error, "cancelled": request.GET.get("cancelled") == "1",
        "renewable": renewable, "other_checkout": other,
    }, status=status)


def _render_result(request, session, *, error: str | None = None):
    state = checkout_session_payment_state(session)
    balance = wallet_balance(user=request.user) if state == PaymentState.COMPLETED else None
    if balance is not None:
        header_shows_balance(request, balance)  # the credit may have landed after the header read the balance
    context = {"session": session, "state": state, "step": 4, "error": error, "balance": balance}
    if not request.htmx:
        return render(request, "wallet/purchase/result.html", context)
    response = render(request, "wallet/purchase/result.html#status", context)
    if state in (PaymentState.COMPLETED, PaymentState.ENDED):
        response.status_code = HTMX_STOP_POLLING
        if state == PaymentState.COMPLETED:
            trigger_client_event(response, "balance-changed")
    return response


def _offers(session: CheckoutSession) -> tuple:
    return session.title, session.description, session.amount_cents, session.currency


def _session_or_404(request, session_id) -> CheckoutSession:
    session = points_purchase_session(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such checkout.")
    return session


def _redirect(request, name: str, session_id):
    if request.htmx:
        return HttpResponseClientRedirect(reverse(name, kwargs={"session_id": session_id}))
    return redirect(name, session_id=session_id)
