"""The demo "hosted checkout" page the fake Stripe sends shoppers to.

The app is installed only in demo mode; the 404 outside it also covers a settings module that lists the app
while talking to the real Stripe."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from stripe_fake import disputes, events, hosted

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
    elif action:
        problem, status = "Unknown action.", 400
    return render(request, "stripe_fake/hosted.html", {
        "session": session, "line_items": session.get("_line_items", []), "notice": notice, "problem": problem,
        "events": events.events_for_session(stripe_session_id), **disputes.page_context(stripe_session_id),
    }, status=status)
