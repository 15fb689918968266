from csp.constants import NONE
from csp.decorators import csp
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from demo_mailbox.selectors import demo_mail, demo_mails, links_in


@never_cache
@require_GET
def mailbox(request):
    return render(request, "demo_mailbox/list.html", {"page": demo_mails(page=request.GET.get("page"))})


@never_cache
@require_GET
def mail_detail(request, mail_id):
    mail = _mail_or_404(mail_id)
    return render(request, "demo_mailbox/detail.html", {"mail": mail, "links": links_in(mail.text)})


# The mail's own HTML, for the detail page's sandboxed iframe only. Its policy allows the inline styles mail is
# written with and nothing else: no script, no request to anywhere (images from data: only), no form, no
# plugin; framed only by the shop's own pages, and sandboxed by the policy as well as by the iframe. Its links
# open in a new tab, as a mail program opens them (the shop's pages refuse to be framed).
MAIL_POLICY = {"default-src": [NONE], "style-src": ["'unsafe-inline'"], "img-src": ["data:"],
               "form-action": [NONE], "frame-ancestors": ["'self'"],
               "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"]}
OPEN_LINKS_IN_A_NEW_TAB = '<base target="_blank">'



@never_cache
@require_GET
@xframe_options_sameorigin
@csp(MAIL_POLICY)
def mail_html(request, mail_id):
    mail = _mail_or_404(mail_id)
    if not mail.html:
        raise Http404("This mail has no HTML part.")
    return HttpResponse(OPEN_LINKS_IN_A_NEW_TAB + mail.html, content_type="text/html; charset=utf-8")


def _mail_or_404(mail_id):
    mail = demo_mail(mail_id=mail_id)
    if mail is None:
        raise Http404("No such mail.")
    return mail
