"""Staff forms are single-use (ops.single_use): a test submits one as a browser would, with the one-time token of
the form it was shown."""


def form_token(client, url) -> str:
    """The one-time token of the form the admin page ``url`` shows."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.context["form"].initial["once"]
