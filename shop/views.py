import uuid

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from ops.header import header_figures
from orders.selectors import catalog_page, library_entry_for_product, product_with_ownership
from shop.forms import SignUpForm
from shop.services import EmailAlreadyRegistered, user_sign_up
from wallet.selectors import points_packages_valued

CATALOG_PAGE_SIZE = 12


@require_GET
def catalog(request):
    # No COUNT of the active products (it would read them all): the page and one more row say if more follow.
    # Each product with whether the signed-in shopper owns it, in the page's one query.
    page = catalog_page(user=request.user, number=request.GET.get("page"), page_size=CATALOG_PAGE_SIZE)
    template = "shop/catalog.html#product-grid" if request.htmx else "shop/catalog.html"
    return render(request, template, {"page": page})


@require_GET
def product_detail(request, slug):
    product = product_with_ownership(slug=slug, user=request.user)
    if product is None:
        raise Http404("This product is not in the shop (any more).")
    figures = header_figures(request)
    # The download link of an owned product is read only then: most product pages show what one does not own.
    owned = library_entry_for_product(user=request.user, product_id=product.pk) if product.owned else None
    balance = figures.balance if figures else None
    return render(request, "shop/product.html", {
        "product": product, "owned": owned,
        # The buy box says what the shopper has only when it is too little (the box is shared otherwise).
        "short_balance": balance if balance is not None and balance.current < product.price_points else None,
        # A fresh token per rendering: a double click pays once (the order service replays the first).
        "checkout_token": uuid.uuid4()})


@require_GET
def packages(request):
    return render(request, "shop/packages.html", {"packages": points_packages_valued()})


@require_http_methods(["GET", "POST"])
def sign_up(request):
    # Where the shopper was going ("Log in to buy" -> "Create an account"): only a path on this site.
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    next_url = wanted if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure()) else ""
    if request.user.is_authenticated:
        return redirect(next_url or "shop:catalog")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_sign_up(email=form.cleaned_data["email"], password=form.cleaned_data["password1"])
        except EmailAlreadyRegistered:
            form.add_error("email", "An account with this email already exists. Log in instead?")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your account and wallet are ready.")
            return redirect(next_url or "shop:catalog")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@require_GET
def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the page links: the icon in the static files, for a day
    (its static name changes with its content)."""
    response = redirect(static("shop/favicon.ico"), permanent=False)
    response["Cache-Control"] = "public, max-age=86400"
    return response
