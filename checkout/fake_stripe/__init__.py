"""A fake Stripe for demo mode and the tests: stripe-python's own client over an in-repo transport whose state
lives in the database (``checkout.models.FakeStripeObject``), plus the hosted checkout page's actions."""

from checkout.fake_stripe.transport import FakeStripeHTTPClient

__all__ = ["FakeStripeHTTPClient"]
