"""A fake Stripe for demo mode and the tests: stripe-python's own client over an in-repo HTTP transport
(``stripe_fake.transport.FakeStripeHTTPClient``) whose state lives in the database
(``stripe_fake.models.FakeStripeObject``), plus the hosted checkout page that sends the events Stripe would.

Installed only by the settings that need it (demo mode, the tests): the shop itself never imports it."""
