import re

from demo_mailbox.models import DemoMail
from ops.pagination import PageWithoutCount, page_without_count

PAGE_SIZE = 20
LINK = re.compile(r"https?://[^\s<>\"']+")


def demo_mails(*, page) -> PageWithoutCount:
    """Newest first, without the text and HTML bodies (the list shows who, what and when)."""
    return page_without_count(DemoMail.objects.defer("text", "html").order_by("-sent_at", "-id"), page,
                              page_size=PAGE_SIZE)


def demo_mail(*, mail_id: int) -> DemoMail | None:
    return DemoMail.objects.filter(pk=mail_id).first()


def links_in(text: str) -> list[str]:
    """The links of a mail's text part, in order, each once: shown as plain links beside the sandboxed HTML."""
    return list(dict.fromkeys(link.rstrip(".,;)") for link in LINK.findall(text)))
