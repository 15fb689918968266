"""Recovering a points checkout whose session ended (expired, replaced, its package changed or withdrawn) and the
pages that lead there: looking changes nothing, paying recovers."""

from datetime import timedelta

import time_machine
from django.urls import reverse

from checkout.models import CheckoutSession
from checkout.services import checkout_sessions_expire_due
from tests.payments import press_pay, start_url
from wallet.services import points_purchase_recover, points_purchase_start


def test_an_expired_session_is_recovered_with_the_same_contents_once(shopper_client, shopper, package):
    old = points_purchase_start(user=shopper, package=package).session

    with time_machine.travel(old.expires_at + timedelta(minutes=1)):
        page = shopper_client.get(reverse("points:review", args=[old.pk]))
        looked_only = CheckoutSession.objects.count()
        paid = press_pay(shopper_client, old)
        again = press_pay(shopper_client, old)

    # then: looking changed nothing; paying made one fresh copy, and the replay found it
    assert page.status_code == 200 and b"Paying starts a fresh one with the same package and price" in page.content
    assert looked_only == 1
    fresh = CheckoutSession.objects.get(status="active")
    assert (fresh.points_purchase.package_id, fresh.amount_cents, fresh.points_purchase.points) == (
        package.pk, 3999, 550)
    assert paid["Location"] == again["Location"] == fresh.stripe_checkout_url
    old.refresh_from_db()
    assert (old.status, old.replaced_by_id) == ("expired", fresh.pk)
    assert CheckoutSession.objects.count() == 2


def test_a_session_expired_by_the_cleanup_task_is_recovered_too(shopper, package):
    old = points_purchase_start(user=shopper, package=package).session
    with time_machine.travel(old.expires_at + timedelta(hours=1)):
        assert checkout_sessions_expire_due() == 1
        recovery = points_purchase_recover(session_id=old.pk, user=shopper)

    assert recovery.outcome == "recovered" and recovery.session.status == "active"
    assert recovery.session.expires_at > old.expires_at


def test_a_price_change_while_expired_shows_what_changed_and_a_way_forward(shopper_client, shopper, package):
    old = points_purchase_start(user=shopper, package=package).session
    package.price_cents = 4499
    package.save()

    with time_machine.travel(old.expires_at + timedelta(minutes=1)):
        page = shopper_client.get(reverse("points:review", args=[old.pk]), follow=True)
        assert page.redirect_chain == [(reverse("points:changed", args=[old.pk]), 302)]
        assert b"The price changed from $39.99 to $44.99." in page.content
        assert f'name="package" value="{package.pk}"'.encode() in page.content
        onward = shopper_client.post(start_url(), {"package": package.pk})

    fresh = CheckoutSession.objects.get(status="active")
    assert onward["Location"] == reverse("points:review", args=[fresh.pk])
    assert fresh.amount_cents == 4499


def test_a_withdrawn_package_says_so_and_offers_the_other_packages(shopper_client, shopper, package):
    old = points_purchase_start(user=shopper, package=package).session
    package.is_active = False
    package.save()

    with time_machine.travel(old.expires_at + timedelta(minutes=1)):
        page = shopper_client.get(reverse("points:review", args=[old.pk]), follow=True)

    assert b"Premium is no longer on sale." in page.content
    assert f'href="{reverse("points:choose")}"'.encode() in page.content
    assert CheckoutSession.objects.count() == 1


def test_an_invalidated_session_leads_to_its_replacement(shopper, package, other_package):
    old = points_purchase_start(user=shopper, package=package).session
    new = points_purchase_start(user=shopper, package=other_package).session

    recovery = points_purchase_recover(session_id=old.pk, user=shopper)

    assert (recovery.outcome, recovery.session.pk) == ("moved", new.pk)
