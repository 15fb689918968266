from django.urls import reverse


def mailbox(request):
    """The header's "Demo mailbox" link (this processor is configured only where the app is installed)."""
    return {"demo_mailbox_url": reverse("demo_mailbox:list")}
