import re

from django.core import mail


def links_in(message, path_part: str) -> list[str]:
    """Every absolute link containing ``path_part`` in a mail's text part."""
    return [link for link in re.findall(r"https?://\S+", message.body) if path_part in link]


def html_part(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]
