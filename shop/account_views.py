"""The account pages of our own: the e-mail change and its confirmation. (Sign-up is in ``shop.views``; log-in,
password change and password reset are Django's views with our templates and forms, ``shop.account_urls``.)"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from shop.forms import EmailChangeForm
from shop.services import (
    EmailAlreadyRegistered,
    EmailChangeLinkExpired,
    EmailChangeLinkInvalid,
    email_change_confirm,
    email_change_read,
    email_change_request,
)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def email_change(request):
    form = EmailChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_email = form.cleaned_data["new_email"]
        email_change_request(user=request.user, new_email=new_email)
        messages.success(request, f"We sent a confirmation link to {new_email}. Your address changes when you "
                                  f"open it; until then you keep logging in with {request.user.email}.")
        return redirect("email_change")
    return render(request, "registration/email_change_form.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def email_change_confirm_view(request, token):
    """GET shows what the link would change (mail scanners that open links change nothing); POST changes it."""
    try:
        change = email_change_confirm(token=token) if request.method == "POST" else email_change_read(token=token)
    except EmailChangeLinkExpired:
        return _link_problem(request, "This confirmation link has expired.", status=410)
    except EmailChangeLinkInvalid:
        return _link_problem(request, "This confirmation link no longer works: it was used already, another "
                                      "change came first, or the password was changed since.", status=404)
    except EmailAlreadyRegistered:
        return _link_problem(request, "Another account uses this email address now, so it cannot be yours.",
                             status=409)
    if request.method == "GET":
        return render(request, "registration/email_change_confirm.html", {"change": change, "token": token})
    return render(request, "registration/email_change_done.html", {"change": change})


def _link_problem(request, problem: str, *, status: int):
    return render(request, "registration/email_change_confirm.html", {"problem": problem}, status=status)
