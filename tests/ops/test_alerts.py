"""Staff alerts: logged at once, emailed to active staff through a task queued only once the discovery commits."""

import logging

import pytest
from django.core import mail
from django.db import transaction

from ops.alerts import staff_alert, staff_email_send
from ops.tasks import email_staff
from tests.factories import StaffFactory, UserFactory


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(email_staff, "delay", lambda subject, message: sent.append((subject, message)))
    return sent


def test_an_alert_is_logged_and_its_email_queued_after_commit(db, queued, caplog,
                                                              django_capture_on_commit_callbacks):
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        staff_alert(subject="Refund failed", message="The bank returned it.")
        assert queued == []  # not before the transaction that found it commits

    assert queued == [("Refund failed", "The bank returned it.")]
    assert "staff_alert Refund failed: The bank returned it." in caplog.text


def test_an_alert_found_in_a_rolled_back_transaction_sends_nothing(db, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            staff_alert(subject="Refund failed", message="rolled back")
            raise RuntimeError("the discovery rolled back")

    assert queued == []


def test_the_email_goes_to_active_staff_with_an_address(db):
    first, second = StaffFactory(), StaffFactory()
    StaffFactory(is_active=False)
    StaffFactory(email="")
    UserFactory()

    addressed = email_staff("Refund failed", "The bank returned it.")  # what the worker runs

    assert addressed == 2
    [email] = mail.outbox
    assert sorted(email.to) == sorted([first.email, second.email])
    assert (email.subject, email.body) == ("[shop staff] Refund failed", "The bank returned it.")


def test_without_staff_addresses_nothing_is_sent_and_it_says_so(db, caplog):
    UserFactory()

    assert staff_email_send(subject="Refund failed", message="x") == 0
    assert not mail.outbox and "no staff member has an email address, ADMINS is empty" in caplog.text
