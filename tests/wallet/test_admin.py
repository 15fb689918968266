import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import UserFactory
from tests.single_use import form_token
from tests.wallet.helpers import credit, figures, wallet_of
from wallet.models import LedgerEntry
from wallet.services import wallet_spend


@pytest.fixture
def ledger(funded_shopper):
    other = UserFactory(email="someone.else@example.com")
    credit(other, 300, key="stripe:cs_other", stripe_object_id="cs_other")
    wallet_spend(user=funded_shopper, points=100, idempotency_key="order:42:pay", description="Order 42")
    return funded_shopper, other


def adjust_url(user):
    return reverse("admin:wallet_wallet_adjust", args=[wallet_of(user).pk])


def test_wallets_and_entries_are_listed_searched_and_filtered(staff_client, ledger):
    shopper, other = ledger
    wallets = reverse("admin:wallet_wallet_changelist")
    entries = reverse("admin:wallet_ledgerentry_changelist")

    assert staff_client.get(wallets).status_code == 200
    found = staff_client.get(wallets, {"q": "someone.else"}).content.decode()
    assert "someone.else@example.com" in found and shopper.email not in found
    assert staff_client.get(wallets, {"updated_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200

    by_key = staff_client.get(entries, {"q": "order:42:pay"}).content.decode()
    assert "Order 42" in by_key and "cs_other" not in by_key
    by_stripe_id = staff_client.get(entries, {"q": "cs_other"}).content.decode()
    assert "cs_other" in by_stripe_id and "Order 42" not in by_stripe_id
    by_email = staff_client.get(entries, {"q": shopper.email}).content.decode()
    assert "Order 42" in by_email and "cs_other" not in by_email
    spends = staff_client.get(entries, {"kind__exact": "spend"}).content.decode()
    assert "Order 42" in spends and "cs_other" not in spends
    this_wallet = staff_client.get(entries, {"wallet__id__exact": wallet_of(other).pk}).content.decode()
    assert "cs_other" in this_wallet and "Order 42" not in this_wallet
    assert staff_client.get(entries, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200


def test_wallets_and_entries_are_read_only(staff_client, ledger):
    shopper, _ = ledger
    wallet = wallet_of(shopper)
    entry = LedgerEntry.objects.get(idempotency_key="order:42:pay")

    assert staff_client.get(reverse("admin:wallet_wallet_add")).status_code == 403
    assert staff_client.get(reverse("admin:wallet_ledgerentry_add")).status_code == 403
    assert staff_client.post(reverse("admin:wallet_wallet_delete", args=[wallet.pk]),
                             {"post": "yes"}).status_code == 403
    assert staff_client.post(reverse("admin:wallet_ledgerentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    view = staff_client.get(reverse("admin:wallet_ledgerentry_change", args=[entry.pk]))
    assert view.status_code == 200 and b'name="_save"' not in view.content
    staff_client.post(reverse("admin:wallet_wallet_change", args=[wallet.pk]), {"balance": 999999})
    assert figures(shopper) == (900, 1000, 100)
    assert LedgerEntry.objects.get(pk=entry.pk).amount == -100


def test_the_wallet_page_links_to_its_entries_and_the_adjustment(staff_client, ledger):
    shopper, _ = ledger

    content = staff_client.get(reverse("admin:wallet_wallet_change", args=[wallet_of(shopper).pk])).content.decode()

    assert adjust_url(shopper) in content
    assert f"?wallet__id__exact={wallet_of(shopper).pk}" in content


def test_staff_adjust_a_balance_through_the_admin(staff_client, staff, ledger):
    shopper, _ = ledger
    once = form_token(staff_client, adjust_url(shopper))

    response = staff_client.post(adjust_url(shopper), {"points": "-150", "reason": "Double grant", "once": once})

    assert response.status_code == 302
    assert response.url == reverse("admin:wallet_wallet_change", args=[wallet_of(shopper).pk])
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.balance_after, entry.created_by, entry.metadata) == (
        -150, 750, staff, {"reason": "Double grant"})
    assert figures(shopper) == (750, 850, 100)
    page = staff_client.get(response.url).content.decode()
    assert "the balance is now 750 points" in page


def test_a_resubmitted_adjustment_form_adjusts_once_and_says_so(staff_client, ledger):
    shopper, _ = ledger
    data = {"points": "25", "reason": "Goodwill", "once": form_token(staff_client, adjust_url(shopper))}

    first = staff_client.post(adjust_url(shopper), data)
    again = staff_client.post(adjust_url(shopper), data)  # Back, then submit the same form again

    assert first.status_code == 302
    assert again.status_code == 200
    assert "This form was already submitted" in again.content.decode()
    assert "nothing was done a second time" in again.content.decode()
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1
    assert figures(shopper) == (925, 1025, 100)


def test_back_fetches_the_form_afresh_and_it_asks_before_a_second_adjustment(staff_client, ledger):
    shopper, _ = ledger
    data = {"points": "25", "reason": "Goodwill", "once": form_token(staff_client, adjust_url(shopper))}
    assert staff_client.post(adjust_url(shopper), data).status_code == 302

    # Back: the browser fetches the page again (a new token) with the fields as they were typed.
    again_page = staff_client.get(adjust_url(shopper))
    resubmitted = staff_client.post(adjust_url(shopper), {**data, "once": again_page.context["form"].initial["once"]})

    assert "Make another change" in again_page.content.decode()
    assert "You made this change at" in again_page.content.decode()
    assert resubmitted.status_code == 200
    assert "Nothing was done: this form was already submitted" in resubmitted.content.decode()
    assert figures(shopper) == (925, 1025, 100)
    # Ticked, it is a deliberate second adjustment.
    ticked = staff_client.post(adjust_url(shopper), {**data, "once": again_page.context["form"].initial["once"],
                                                     "again": "on"})
    assert ticked.status_code == 302 and figures(shopper) == (950, 1050, 100)
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 2


def test_another_wallet_or_staff_member_is_not_asked(staff_client, ledger):
    shopper, other = ledger
    once = form_token(staff_client, adjust_url(shopper))
    staff_client.post(adjust_url(shopper), {"points": "25", "reason": "Goodwill", "once": once})

    assert "Make another change" not in staff_client.get(adjust_url(other)).content.decode()


@pytest.mark.parametrize("once", ["", "forged", "token-of-another-wallet", "token-of-another-staff-member"])
def test_an_adjustment_without_a_valid_token_of_its_own_changes_nothing(staff_client, staff, ledger, once):
    from ops.single_use import single_use_token
    shopper, other = ledger
    tokens = {"token-of-another-wallet": form_token(staff_client, adjust_url(other)),
              "token-of-another-staff-member": single_use_token(user=UserFactory(is_staff=True),
                                                                purpose=f"wallet-adjust:{wallet_of(shopper).pk}")}

    response = staff_client.post(adjust_url(shopper), {"points": "25", "reason": "Goodwill",
                                                       "once": tokens.get(once, once)})

    assert response.status_code == 200
    assert "open" in response.content.decode() and "the form again" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


def test_an_adjustment_below_zero_is_refused_and_changes_nothing(staff_client, ledger):
    shopper, _ = ledger

    once = form_token(staff_client, adjust_url(shopper))
    response = staff_client.post(adjust_url(shopper), {"points": "-901", "reason": "Too much", "once": once})

    assert response.status_code == 200
    assert ("Not enough points to remove 901 points: the balance is 900 points. Nothing was changed."
            in response.content.decode())
    assert figures(shopper) == (900, 1000, 100)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()
    # Refused, the form was not used up: corrected, the same form goes through.
    corrected = staff_client.post(adjust_url(shopper), {"points": "-900", "reason": "Too much", "once": once})
    assert corrected.status_code == 302 and figures(shopper) == (0, 100, 100)


@pytest.mark.parametrize("data, message", [
    ({"points": "10", "reason": ""}, "This field is required."),
    ({"points": "10", "reason": "   "}, "This field is required."),
    ({"points": "0", "reason": "Nothing"}, "An adjustment of 0 points changes nothing."),
    ({"points": "1.5", "reason": "Half"}, "Enter a whole number."),
    ({"points": "", "reason": "None"}, "This field is required."),
])
def test_an_adjustment_needs_whole_points_and_a_reason(staff_client, ledger, data, message):
    shopper, _ = ledger

    response = staff_client.post(adjust_url(shopper), {**data, "once": form_token(staff_client, adjust_url(shopper))})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert figures(shopper) == (900, 1000, 100)


def test_staff_without_the_adjust_permission_cannot_adjust(client, ledger):
    shopper, _ = ledger
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    client.force_login(clerk)

    assert client.get(reverse("admin:wallet_wallet_changelist")).status_code == 200
    assert client.get(adjust_url(shopper)).status_code == 403
    assert client.post(adjust_url(shopper), {"points": "5", "reason": "x", "once": ""}).status_code == 403
    assert figures(shopper) == (900, 1000, 100)


def test_points_are_written_as_points_in_the_admin_lists(staff_client, ledger, session):
    from tests.factories import PointsPackageFactory, ProductFactory

    shopper, _other = ledger
    wallet = wallet_of(shopper)
    PointsPackageFactory(name="Mega", points=12_500, price_cents=9999)
    ProductFactory(title="Harbour Lights", price_cents=499, price_points=1_450)

    def listed(name, **query):
        html = staff_client.get(reverse(f"admin:{name}_changelist"), query).content.decode()
        return html.replace("&nbsp;", " ")

    wallets = listed("wallet_wallet")
    assert f">{wallet.balance:,} points<" in wallets and f">{wallet.lifetime:,} points<" in wallets
    assert ">100 points<" in wallets  # spent
    assert f">{wallet.balance:,} points<" in listed("wallet_ledgerentry", q="order:42:pay")  # balance after
    assert ">12,500 points<" in listed("wallet_pointspackage")
    assert ">550 points<" in listed("wallet_pointspurchase")
    assert ">1,450 points<" in listed("shop_product")
    # still sorted by the stored figure
    assert staff_client.get(reverse("admin:wallet_wallet_changelist"), {"o": "2"}).status_code == 200
    assert f"{wallet.balance:,} points" in staff_client.get(
        reverse("admin:wallet_wallet_change", args=[wallet.pk])).content.decode()
