"""Settings for shop processes (gunicorn, a Celery worker) started by the fault tests: the shop as `make run` has
it, but talking to Stripe as production does -- stripe-python's own RequestsClient over real HTTP -- with the fake
Stripe served by the test (``stripe_fake.server``, at FAULT_TEST_STRIPE_API_BASE), whose faults the test switches."""

import os

from config.settings import *  # noqa: F403

STRIPE_HTTP_CLIENT = ""
STRIPE_API_BASE = os.environ["FAULT_TEST_STRIPE_API_BASE"]
