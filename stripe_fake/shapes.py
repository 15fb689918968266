"""Every field Stripe shows on the objects the fake returns, not only the few the fake keeps state in.

The fake stores what it works with (a session's status, a charge's refunded amount...); ``render`` adds the rest
of the object as Stripe shows it for the same situation -- a hosted, card-only Checkout Session in payment mode,
paid with a test Visa card -- so the shop and the tests meet Stripe's full objects (field names, JSON types,
nullability and current enum values, checked against Stripe's published fixtures3.json by
tests/stripe_fake/test_object_shapes.py). Stored fields always win over these defaults.

Ids the defaults need (a balance transaction, a payment method) are derived from the object's own id, so the
same object renders the same every time.
"""

import hashlib

_ADDRESS_NONE = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}
TEST_CARD = {"brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2034, "funding": "credit",
             "last4": "4242"}


def render(obj: dict) -> dict:
    """``obj`` (its public fields) with every other field Stripe shows on an object of its kind."""
    defaults = _DEFAULTS.get(obj.get("object"))
    if defaults is None:
        return obj
    return {**defaults(obj), **obj}


def _derived_id(prefix: str, obj: dict) -> str:
    return prefix + hashlib.sha256(f"{prefix}{obj['id']}".encode()).hexdigest()[:24]


def payment_method_of(payment_intent_id: str | None) -> str | None:
    """The test card's PaymentMethod, one per payment: the same id on the intent, its charge and its refunds."""
    return _derived_id("pm_", {"id": payment_intent_id}) if payment_intent_id else None


def _checkout_session(session: dict) -> dict:
    complete = session.get("status") == "complete"
    return {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "client_secret": None,
        "collected_information": {"business_name": None, "individual_name": None, "shipping_details": None}
        if complete else None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer_account": None,
        "customer_creation": "if_required",
        # What the shopper typed on the payment page: only once they paid (or started a bank debit).
        "customer_details": {
            "address": {**_ADDRESS_NONE, "country": TEST_CARD["country"], "postal_code": "42424"},
            "business_name": None, "email": session.get("customer_email"), "individual_name": None, "name": None,
            "phone": None, "tax_exempt": "none", "tax_ids": [],
        } if complete else None,
        "discounts": [],
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {"enabled": False, "invoice_data": {
            "account_tax_ids": None, "custom_fields": None, "description": None, "footer": None, "issuer": None,
            "metadata": {}, "rendering_options": None}},
        "locale": None,
        "managed_payments": None,
        "origin_context": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "submit_type": None,
        "subscription": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "wallet_options": None,
    }


def _payment_intent(intent: dict) -> dict:
    attempted = intent.get("status") not in (None, "requires_payment_method") or intent.get("last_payment_error")
    return {
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent['id']}_secret_{_derived_id('', intent)}",
        "confirmation_method": "automatic",
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "livemode": False,
        "managed_payments": None,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method_of(intent["id"]) if attempted else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
        "transfer_group": None,
    }


def _charge(charge: dict) -> dict:
    return {
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": _derived_id("txn_", charge),
        "billing_details": {"address": {**_ADDRESS_NONE, "country": TEST_CARD["country"], "postal_code": "42424"},
                            "email": None, "name": None, "phone": None, "tax_id": None},
        "calculated_statement_descriptor": "PIXEL SHOP",
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                    "risk_score": 12, "seller_message": "Payment complete.", "type": "authorized"},
        "payment_method": payment_method_of(charge.get("payment_intent")),
        "payment_method_details": {"card": _card_details(charge), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{_derived_id('', charge)}",
        "refunds": None,  # a list only when expanded, since API version 2022-11-15
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
        "transfer_group": None,
    }


def _card_details(charge: dict) -> dict:
    return {
        **TEST_CARD,
        "amount_authorized": charge.get("amount"),
        "authorization_code": "123456",
        "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
        "extended_authorization": {"status": "disabled"},
        "fingerprint": _derived_id("", charge)[:16],
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": "visa",
        "network_token": {"used": False},
        "network_transaction_id": _derived_id("", charge)[:15],
        "overcapture": {"maximum_amount_capturable": charge.get("amount"), "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


def _refund(refund: dict) -> dict:
    return {
        "balance_transaction": _derived_id("txn_", refund),
        "customer": None,
        "customer_account": None,
        "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "payment_method": payment_method_of(refund.get("payment_intent")),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "transfer_reversal": None,
    }


_DEFAULTS = {
    "checkout.session": _checkout_session,
    "payment_intent": _payment_intent,
    "charge": _charge,
    "refund": _refund,
}
