"""The fake's list endpoints page as Stripe's do, so stripe-python's auto-paging walks every object once."""

from datetime import datetime, timedelta, timezone

import pytest
import stripe

from checkout import gateway
from stripe_fake.models import FakeStripeObject

START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def plant_charges(count: int, *, first_created: int, step: int = 60) -> list[str]:
    ids = [f"ch_test_{n:05d}" for n in range(count)]
    FakeStripeObject.objects.bulk_create([FakeStripeObject(pk=charge_id, kind="charge", data={
        "id": charge_id, "object": "charge", "amount": 100 + n, "amount_refunded": 0, "currency": "usd",
        # two charges share each second: the cursor must order ties by id, or a page repeats or skips one
        "created": first_created + (n // 2) * step, "payment_intent": f"pi_test_{n:05d}"})
        for n, charge_id in enumerate(ids)])
    return ids


def test_auto_paging_returns_every_object_in_the_window_once_newest_first(db):
    first = int(START.timestamp())
    ids = plant_charges(251, first_created=first)

    listed = gateway.stripe_objects_created(resource="charges", since=START + timedelta(minutes=1),
                                            until=START + timedelta(minutes=100))

    # charges 2..199 were created in [first + 60, first + 6000): 198 of them, across two pages of 100
    expected = [charge_id for n, charge_id in enumerate(ids) if 60 <= (n // 2) * 60 < 6000]
    assert len(listed) == len(expected) == 198
    assert sorted(charge.id for charge in listed) == sorted(expected)
    created = [FakeStripeObject.objects.get(pk=charge.id).data["created"] for charge in listed]
    assert created == sorted(created, reverse=True)


def test_cursors_and_filters(db):
    plant_charges(5, first_created=int(START.timestamp()))
    client = gateway.stripe_client()

    first_page = client.v1.charges.list({"limit": 2})
    assert [charge.id for charge in first_page.data] == ["ch_test_00004", "ch_test_00003"] and first_page.has_more
    after = client.v1.charges.list({"limit": 2, "starting_after": "ch_test_00003"})
    assert [charge.id for charge in after.data] == ["ch_test_00002", "ch_test_00001"] and after.has_more
    before = client.v1.charges.list({"limit": 2, "ending_before": "ch_test_00001"})
    assert [charge.id for charge in before.data] == ["ch_test_00003", "ch_test_00002"]
    assert [charge.id for charge in client.v1.charges.list({"payment_intent": "pi_test_00002"}).data] == [
        "ch_test_00002"]


@pytest.mark.parametrize("params, param", [
    ({"colour": "red"}, "colour"), ({"created": {"around": 1}}, "created[around]"), ({"limit": 101}, "limit"),
    ({"starting_after": "ch_test_none"}, "starting_after")])
def test_bad_list_parameters_are_refused_like_stripe_does(db, params, param):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        gateway.stripe_client().v1.charges.list(params)
    assert refused.value.param == param
