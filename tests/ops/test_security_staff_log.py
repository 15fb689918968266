"""Staff actions in the admin are logged with who and why (and never with other form data)."""

import logging

from django.test import Client
from django.urls import reverse

from checkout.models import WebhookEvent
from tests.single_use import form_token
from wallet.models import LedgerEntry


def staff_lines(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "ops.staff"]


def test_an_adjustment_is_logged_with_the_staff_member_the_points_and_the_reason(staff_client, staff, shopper,
                                                                                   caplog):
    caplog.set_level(logging.INFO, logger="ops.staff")
    url = reverse("admin:wallet_wallet_adjust", args=[shopper.wallet.pk])

    once = form_token(staff_client, url)
    staff_client.post(url, {"points": "250", "reason": "Goodwill: late delivery", "once": once})

    assert LedgerEntry.objects.filter(kind="adjustment", created_by=staff).count() == 1  # and in the database
    [line] = staff_lines(caplog)
    assert f"staff={staff.email} staff_id={staff.pk}" in line
    assert f"path={url} status=302" in line
    assert 'reason="Goodwill: late delivery" points="250"' in line


def test_an_admin_action_is_logged_with_the_rows_it_was_applied_to(staff_client, staff, caplog):
    caplog.set_level(logging.INFO, logger="ops.staff")
    event = WebhookEvent.objects.create(event_id="evt_x", type="checkout.session.completed", payload={},
                                        status=WebhookEvent.Status.PROCESSED)

    staff_client.post(reverse("admin:checkout_webhookevent_changelist"),
                      {"action": "reprocess", "_selected_action": [event.pk]})

    [line] = staff_lines(caplog)
    assert f'selected={event.pk} action="reprocess"' in line


def test_other_form_fields_are_never_logged(staff_client, shopper, caplog):
    caplog.set_level(logging.INFO, logger="ops.staff")

    staff_client.post(reverse("admin:auth_user_password_change", args=[shopper.pk]),
                      {"password1": "a-secret-Passw0rd!", "password2": "a-secret-Passw0rd!", "usable_password": "true"})

    [line] = staff_lines(caplog)
    assert "secret" not in line


def test_shoppers_and_reads_are_not_logged(shopper, staff, caplog):
    caplog.set_level(logging.INFO, logger="ops.staff")
    anonymous, as_shopper, as_staff = Client(), Client(), Client()
    as_shopper.force_login(shopper)
    as_staff.force_login(staff)

    anonymous.post(reverse("admin:login"), {"username": "x@example.com", "password": "nope"})
    as_shopper.post(reverse("admin:index"))
    as_staff.get(reverse("admin:index"))

    assert staff_lines(caplog) == []
