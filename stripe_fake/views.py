"""The demo "hosted checkout" page the fake Stripe sends shoppers to.

The app is installed only in demo mode; the 404 outside it also covers a settings module that lists the app
while talking to the real Stripe."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from stripe_fake import disputes, events, hosted, refunds
from stripe_fake.errors import StripeAPIFailure

ACTIONS = {
    "pay": lambda session_id: hosted.pay(session_id),
    "decline": lambda session_id: hosted.decline(session_id),
    "pay_later": lambda session_id: hosted.pay_later(session_id),
    "settle": lambda session_id: hosted.settle(session_id, succeeded=True),
    "bounce": lambda session_id: hosted.settle(session_id, succeeded=False),
    "dispute": lambda session_id: disputes.open_dispute(session_id),
    "win_dispute": lambda session_id: disputes.close_dispute(session_id, won=True),
    "lose_dispute": lambda session_id: disputes.close_dispute(session_id, won=False),
}
NOTICES = {
    "decline": "Your card was declined. Try again, or use another card.",
    "settle": "The bank debit cleared: Stripe sent checkout.session.async_payment_succeeded.",
    "bounce": "The bank debit failed: Stripe sent checkout.session.async_payment_failed.",
    "resend": "The event was sent again.",
    "dispute": "The cardholder's bank disputed the payment: Stripe sent charge.dispute.created.",
    "win_dispute": "The dispute was won: Stripe sent charge.dispute.closed (won).",
    "lose_dispute": "The dispute was lost: Stripe sent charge.dispute.closed (lost).",
    "refund": "The refund was settled: Stripe sent refund.updated and charge.refund.updated (and refund.failed).",
    "dashboard_refund": "Refunded as if in Stripe's Dashboard: the shop was not asked, Stripe told it.",
    "refund_outcome": "Refunds of this payment made from now on will end as chosen.",
}


def demo_only(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if settings.STRIPE_MODE != "demo":
            raise Http404("There is no demo payment page: payments go to Stripe.")
        return view(request, *args, **kwargs)

    return guarded


@demo_only
@require_http_methods(["GET", "POST"])
def hosted_checkout(request, stripe_session_id):
    session = hosted.load_session(stripe_session_id)
    if session is None:
        raise Http404("No such checkout session.")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    notice, problem, status = NOTICES.get(request.GET.get("done", "")), None, 200
    if action == "cancel":
        return redirect(session["cancel_url"] or "/")
    if action == "resend":
        events.resend(request.POST.get("event", ""))
        return redirect(reverse("stripe_fake:hosted", args=[stripe_session_id]) + "?done=resend")
    if action in REFUND_ACTIONS:
        try:
            REFUND_ACTIONS[action](session, request.POST)
        except (refunds.RefundNotSettleable, StripeAPIFailure, ValueError, LookupError) as error:
            problem, status = _refund_problem(error), 409
        else:
            return redirect(reverse("stripe_fake:hosted", args=[stripe_session_id]) + f"?done={action}")
    if action in ACTIONS:
        try:
            session = ACTIONS[action](stripe_session_id)
        except hosted.SessionNotOpen as error:
            session, status = error.session, 409
            problem = f"This checkout session is {error.session['status']}: nothing was done."
        except disputes.DisputeRefused as refusal:
            status, problem = 409, f"{refusal} Nothing was done."
        else:
            if action in ("pay", "pay_later"):
                return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
            return redirect(reverse("stripe_fake:hosted", args=[stripe_session_id]) + f"?done={action}")
    elif action and action not in REFUND_ACTIONS:
        problem, status = "Unknown action.", 400
    return render(request, "stripe_fake/hosted.html", {
        "session": session, "line_items": session.get("_line_items", []), "notice": notice, "problem": problem,
        "events": events.events_for_session(stripe_session_id), **disputes.page_context(stripe_session_id),
        "refunds": refunds.refunds_of(session.get("payment_intent")), "refund_outcomes": refunds.OUTCOMES,
    }, status=status)


def _refund_settle(session: dict, form) -> None:
    refund = next((refund for refund in refunds.refunds_of(session.get("payment_intent"))
                   if refund["id"] == form.get("refund", "")), None)
    if refund is None:
        raise LookupError("No such refund of this payment.")
    refunds.refund_settle(refund["id"], form.get("outcome", ""))


def _dashboard_refund(session: dict, form) -> None:
    """A refund the shop did not ask for, as staff make one in Stripe's Dashboard: no metadata of the shop's."""
    if session.get("payment_status") != "paid":
        raise ValueError("Only a paid payment can be refunded.")
    refunds.create_refund({"payment_intent": session["payment_intent"], "amount": form.get("amount") or None})


def _refund_outcome(session: dict, form) -> None:
    if not session.get("payment_intent"):
        raise ValueError("This checkout session has no payment yet.")
    refunds.refund_outcome_set(session["payment_intent"], form.get("outcome", ""))


REFUND_ACTIONS = {"refund": _refund_settle, "dashboard_refund": _dashboard_refund, "refund_outcome": _refund_outcome}


def _refund_problem(error: Exception) -> str:
    if isinstance(error, StripeAPIFailure):
        return f"Stripe refused: {error.body['error']['message']}"
    return f"Nothing was done: {error}"
